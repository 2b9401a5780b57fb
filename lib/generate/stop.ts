/**
 * Stop strings over streamed text: text that could still be the start of a
 * stop string is held back, so a stop string is never emitted, even when it
 * spans several tokens.
 */

/** What {@link StopStringMatcher.push} returns. */
export interface StopPush {
  /** Text safe to emit now. */
  text: string;
  /** The stop string found (generation must end), or null. */
  stopped: string | null;
}

export class StopStringMatcher {
  private held = '';
  private readonly stops: readonly string[];

  constructor(stops: readonly string[]) {
    this.stops = stops.filter((s) => s.length > 0);
  }

  /** Adds generated text; returns what can be emitted and whether a stop string completed. */
  push(piece: string): StopPush {
    if (this.stops.length === 0) return { text: piece, stopped: null };
    const text = this.held + piece;
    let first = -1;
    let which: string | null = null;
    for (const s of this.stops) {
      const at = text.indexOf(s);
      if (at >= 0 && (first < 0 || at < first)) {
        first = at;
        which = s;
      }
    }
    if (which !== null) {
      this.held = '';
      return { text: text.slice(0, first), stopped: which };
    }
    const keep = this.partialSuffix(text);
    this.held = text.slice(text.length - keep);
    return { text: text.slice(0, text.length - keep), stopped: null };
  }

  /** Releases held text at the end of generation (no stop string completed). */
  flush(): string {
    const t = this.held;
    this.held = '';
    return t;
  }

  /** Length of the longest suffix of `text` that is a proper prefix of some stop string. */
  private partialSuffix(text: string): number {
    let best = 0;
    for (const s of this.stops) {
      for (let n = Math.min(s.length - 1, text.length); n > best; n--) {
        if (text.endsWith(s.slice(0, n))) {
          best = n;
          break;
        }
      }
    }
    return best;
  }
}
