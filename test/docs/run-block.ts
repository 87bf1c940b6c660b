// Runs one README code block as a module: exits 0 once its top-level code has finished (servers it
// started are then stopped by the exit), 1 on any error or unhandled rejection.
import { pathToFileURL } from 'node:url';

process.on('unhandledRejection', (error) => {
  console.error('unhandled rejection:', error);
  process.exit(1);
});
try {
  await import(pathToFileURL(process.argv[2]!).href);
  // Let a last tick of asynchronous work surface its errors.
  await new Promise((resolve) => setTimeout(resolve, 50));
  process.exit(0);
} catch (error) {
  console.error(error);
  process.exit(1);
}
