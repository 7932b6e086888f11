/** The protocols the one-hour federation rows run (scale.ts); a module of its own so the CLI can name them without loading the protocols. */
export const scaleProtocols = ['solec', 'f140'] as const;
export type ScaleProtocol = (typeof scaleProtocols)[number];
