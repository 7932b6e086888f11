/**
 * The states and transitions of each protocol's statecharts that its default fuzz campaign
 * (`fedsim fuzz <p>`, 1,000 runs) never reaches, each with the reason, reviewed: a key is
 * `kind item`, the machine kind (its id) and a state path or a transition `source>target` as
 * src/fuzz/coverage.ts names them; `kind *` is the whole machine. See ./unreachable.ts.
 */
export const unreachableList: Readonly<Record<string, string>> = {};
