/**
 * Error bodies in each provider's real format (sdk-facts §2.8, §3.6, §5.5), for HTTP errors and
 * for in-stream error records.
 */

import type { EmulatorProvider } from './types.js';

const OPENAI_ERRORS: Record<number, { type: string; code: string | null; message: string }> = {
  400: { type: 'invalid_request_error', code: null, message: 'Invalid request (emulated).' },
  401: {
    type: 'invalid_request_error',
    code: 'invalid_api_key',
    message: 'Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.',
  },
  403: { type: 'invalid_request_error', code: 'unsupported_country_region_territory', message: 'Country, region, or territory not supported.' },
  404: { type: 'invalid_request_error', code: 'model_not_found', message: 'The model does not exist or you do not have access to it.' },
  409: { type: 'invalid_request_error', code: null, message: 'Conflict (emulated).' },
  429: {
    type: 'tokens',
    code: 'rate_limit_exceeded',
    message:
      'Rate limit reached for requests in organization org-emulator on tokens per min (TPM): Limit 30000, Used 29937, Requested 385. Please try again in 10ms.',
  },
  500: { type: 'server_error', code: null, message: 'The server had an error while processing your request. Sorry about that!' },
  503: { type: 'server_error', code: null, message: 'The engine is currently overloaded, please try again later.' },
};

const ANTHROPIC_ERRORS: Record<number, { type: string; message: string }> = {
  400: { type: 'invalid_request_error', message: 'Invalid request (emulated).' },
  401: { type: 'authentication_error', message: 'invalid x-api-key' },
  402: { type: 'billing_error', message: 'Your credit balance is too low to access the Anthropic API.' },
  403: { type: 'permission_error', message: 'Your API key does not have permission to use the specified resource.' },
  404: { type: 'not_found_error', message: 'The requested resource could not be found.' },
  408: { type: 'timeout_error', message: 'Request timed out (emulated).' },
  409: { type: 'conflict_error', message: 'Conflict (emulated).' },
  413: { type: 'request_too_large', message: 'Request exceeds the maximum allowed number of bytes.' },
  429: { type: 'rate_limit_error', message: 'This request would exceed the rate limit for your organization of 50,000 input tokens per minute.' },
  500: { type: 'api_error', message: 'Internal server error' },
  504: { type: 'timeout_error', message: 'Request timed out (emulated).' },
  529: { type: 'overloaded_error', message: 'Overloaded' },
};

const GOOGLE_STATUS: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  409: 'ABORTED',
  413: 'INVALID_ARGUMENT',
  429: 'RESOURCE_EXHAUSTED',
  499: 'CANCELLED',
  500: 'INTERNAL',
  501: 'UNIMPLEMENTED',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

const GOOGLE_MESSAGES: Record<string, string> = {
  INVALID_ARGUMENT: 'Request contains an invalid argument.',
  UNAUTHENTICATED: 'Request had invalid authentication credentials.',
  PERMISSION_DENIED: "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.",
  NOT_FOUND: 'Requested entity was not found.',
  RESOURCE_EXHAUSTED: 'You exceeded your current quota, please check your plan and billing details.',
  INTERNAL: 'An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting',
  UNAVAILABLE: 'The model is overloaded. Please try again later.',
  DEADLINE_EXCEEDED: 'Deadline expired before operation could complete.',
};

/** Whether the Stainless SDKs retry this status. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

/** The JSON error body a provider sends with `status`. */
export function errorBody(provider: EmulatorProvider | 'unknown', status: number, requestId: string, message?: string): unknown {
  switch (provider) {
    case 'anthropic': {
      const known = ANTHROPIC_ERRORS[status] ?? (status >= 500 ? ANTHROPIC_ERRORS[500] : ANTHROPIC_ERRORS[400]);
      return {
        type: 'error',
        error: { type: known?.type ?? 'api_error', message: message ?? known?.message ?? 'Error' },
        request_id: requestId,
      };
    }
    case 'google': {
      const googleStatus = GOOGLE_STATUS[status] ?? (status >= 500 ? 'INTERNAL' : 'UNKNOWN');
      const error: Record<string, unknown> = {
        code: status,
        message: message ?? GOOGLE_MESSAGES[googleStatus] ?? 'Unknown error.',
        status: googleStatus,
      };
      if (status === 429) {
        error['details'] = [
          {
            '@type': 'type.googleapis.com/google.rpc.QuotaFailure',
            violations: [
              {
                quotaMetric: 'generativelanguage.googleapis.com/generate_content_free_tier_input_token_count',
                quotaId: 'GenerateContentInputTokensPerModelPerMinute-FreeTier',
              },
            ],
          },
          { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '0s' },
        ];
      }
      return { error };
    }
    default: {
      const known = OPENAI_ERRORS[status] ?? (status >= 500 ? OPENAI_ERRORS[500] : OPENAI_ERRORS[400]);
      return {
        error: {
          message: message ?? known?.message ?? 'Error',
          type: known?.type ?? 'server_error',
          param: null,
          code: known?.code ?? null,
        },
      };
    }
  }
}
