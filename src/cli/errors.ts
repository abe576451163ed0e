/** Errors every command may throw, in a module light enough for `main` to load before any command. */

/** Bad flags or arguments: printed with the usage text, exit 2. */
export class UsageError extends Error {}

/** A start-up failure that is the user's to fix: printed as one line, exit 1, no stack trace. */
export class StartError extends Error {}
