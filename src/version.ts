/** The version of shearwater-persist, shown by `--version` and in diagnostics. */
export const VERSION = "0.1.0";

/** The record format version written in every log line's `v` field. */
export const RECORD_FORMAT_VERSION = 1;
