/** Flags of the commands that can read the shared store (see history.ts). */
export const STORE_OPTIONS = {
  store: { type: "string" },
  origin: { type: "string" },
} as const;

/** Help lines for {@link STORE_OPTIONS}. */
export const STORE_HELP = `  --store URL        read the shared PostgreSQL history of every machine
                     (env SHEARWATER_STORE, config key "store")
  --origin ID        with a store: only what data dir ID recorded (see status)`;
