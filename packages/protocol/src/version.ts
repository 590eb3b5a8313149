/** Bumped whenever a message changes shape or meaning; a client with another version is refused at `hello`. */
export const PROTOCOL_VERSION = 4;
