/**
 * The inbound side of one SOLEC connection: bytes to frames (FrameDecoder), plus the two ways a
 * reader gives up on a frame it cannot trust before its bytes are all in (spec.md §2.3, ours):
 *
 * - the header alone condemns it (reserved, unknown or wrong-direction type, or more payload than a
 *   fixed-size type has; an oversize length is the decoder's own check), so waiting is pointless;
 * - it stays incomplete: no byte arrives for `frameTimeoutMs` while a frame is unfinished. A
 *   sender writes each frame whole, so this means bytes were lost or a length field was damaged,
 *   and the rest will never come; without it the reader waits for its response or auth timeout.
 *
 * The timer runs on the host's clock (sans-IO); the owner hands the error it reports to the
 * connection's machine as `wire.invalid`, which rejects and closes as for any bad frame.
 */
import { WireError } from '../../core/errors.js';
import type { Result } from '../../core/result.js';
import type { HostClock } from '../protocol.js';
import { FrameDecoder, headerBytes, headerType, type RawFrame, type Sender } from './wire.js';

/** Default frame timeout: far above the time a whole frame takes on a working link, far below any response timeout. */
export const frameTimeoutMsDefault = 500;

/** A frame a reader refused, as the event every SOLEC machine closes the connection on. */
export function invalid(error: WireError): { type: 'wire.invalid'; code: string; reason: string } {
  return { type: 'wire.invalid', code: error.code, reason: error.message };
}

export class FrameReader {
  private readonly decoder: FrameDecoder;
  private timer: unknown;
  private closed = false;

  constructor(
    /** The connection these bytes arrive on. */
    readonly conn: string,
    private readonly clock: HostClock,
    payloadBytesMax: number,
    private readonly frameTimeoutMs: number,
  ) {
    this.decoder = new FrameDecoder(payloadBytesMax);
  }

  /** Cuts `bytes` into whole frames. The frame timeout is off until `settle`. */
  push(bytes: Uint8Array): Result<RawFrame[], WireError> {
    this.disarm();
    return this.decoder.push(bytes);
  }

  /**
   * Called once the whole frames of the last push were handled and the connection is still open.
   * Returns the error the unfinished frame's header already shows (as `sender` would send it);
   * otherwise, while a frame is unfinished, arms the frame timeout, which calls `onStall`.
   */
  settle(sender: Sender, onStall: (error: WireError) => void): WireError | undefined {
    if (this.closed) return undefined;
    const header = this.decoder.pendingHeader();
    if (header !== undefined) {
      const type = headerType(header.type, header.length, sender);
      if (!type.ok) return type.error;
    }
    const held = this.decoder.bufferedBytes();
    if (held === 0) return undefined;
    const expected = header === undefined ? `a ${headerBytes}-byte header` : `${headerBytes + header.length} bytes`;
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      if (this.closed) return;
      onStall(
        new WireError(
          'frame.stalled',
          `no byte for ${this.frameTimeoutMs} ms with ${held} of ${expected} of a frame in`,
          held,
        ),
      );
    }, this.frameTimeoutMs);
    return undefined;
  }

  /** Whether the connection was closed (by either side) or replaced. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** The connection is closed or replaced: nothing more is read, the timer is off. */
  close(): void {
    this.closed = true;
    this.disarm();
  }

  private disarm(): void {
    if (this.timer === undefined) return;
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }
}
