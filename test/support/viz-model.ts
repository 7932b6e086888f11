/** Viewer model tests: a model's fields in a form `toEqual` compares, and the names `fedsim view` serves for a trace. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { namesOfFile } from '../../src/view/names.js';
import { parseNames } from '../../viz/model.js';
import type { MessageNames, Model } from '../../viz/model.js';

/** Every field of `model`, typed arrays as plain arrays. */
export function comparable(model: Model): unknown {
  return {
    lanes: model.lanes,
    laneOf: [...model.laneOf],
    links: model.links,
    linkAt: [...model.linkAt],
    faults: model.faults,
    states: model.states,
    kinds: [...model.kinds],
    violations: model.violations,
    kindKeyOf: model.kindKeyOf,
    atMs: [...model.atMs],
    category: [...model.category],
    detail: [...model.detail],
  };
}

/** The message names of trace `text`, as the view server makes them (names.json) and the page parses them. */
export async function namesOf(text: string): Promise<MessageNames> {
  const directory = mkdtempSync(join(tmpdir(), 'fedsim-viz-names-'));
  try {
    writeFileSync(join(directory, 't.ndjson'), text);
    return parseNames(JSON.parse(await namesOfFile(join(directory, 't.ndjson'))));
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}
