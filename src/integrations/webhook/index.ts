export {
  createAlertWebhook,
  onAlert,
  WebhookDeliveryError,
  type AlertWebhook,
  type AlertWebhookOptions,
  type AlertWebhookPayload,
  type WebhookFailure,
} from './alert-webhook.js';
export { signWebhookBody, verifyWebhookSignature, WEBHOOK_HEADERS, type VerifyWebhookOptions } from './signature.js';
