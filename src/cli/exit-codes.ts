// The CLI's exit codes are the product's: see src/exit-codes.ts, shared with the daemon.
export * from '../exit-codes.js';
