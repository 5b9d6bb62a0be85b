// The judge's answers on disk: one JSON line per request, keyed by a hash of the request, so a rerun (or a killed run) re-asks nothing answered.
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { createHash } from 'node:crypto';
import type { JudgeReply, JudgeRequest } from './judge-client.js';

interface CacheLine extends JudgeReply {
  key: string;
}

/** sha256 of the request's fields in a fixed order: the same question to the same judge model gets the same key. */
export function requestKey(request: JudgeRequest): string {
  const { model, messages, temperature, max_tokens, seed } = request;
  return createHash('sha256').update(JSON.stringify({ model, messages: messages.map((m) => [m.role, m.content]), temperature, max_tokens, seed })).digest('hex');
}

export class AnswerCache {
  private readonly answers = new Map<string, JudgeReply>();
  /** Lines that could not be read (a line cut by a kill mid-write); they are asked again. */
  readonly unreadable: number;

  constructor(readonly path: string) {
    let bad = 0;
    if (existsSync(path)) {
      const text = readFileSync(path, 'utf8');
      for (const line of text.split('\n')) {
        if (!line.trim()) continue;
        try {
          const v = JSON.parse(line) as CacheLine;
          if (typeof v.key !== 'string' || typeof v.text !== 'string') throw new Error('not a cache line');
          this.answers.set(v.key, { text: v.text, usage: v.usage });
        } catch {
          bad++;
        }
      }
      // a torn last line must not swallow the next answer appended
      if (text.length && !text.endsWith('\n')) appendFileSync(path, '\n');
    } else {
      mkdirSync(dirname(path), { recursive: true });
    }
    this.unreadable = bad;
  }

  get size(): number {
    return this.answers.size;
  }

  get(key: string): JudgeReply | undefined {
    return this.answers.get(key);
  }

  /** Stores an answer in memory and appends it to the file (one write per line). */
  put(key: string, reply: JudgeReply): void {
    this.answers.set(key, reply);
    const line: CacheLine = { key, ...reply };
    appendFileSync(this.path, `${JSON.stringify(line)}\n`);
  }
}
