// A strict reader of RE2 pattern syntax into a tree, so that a pattern's safety is decided on what it
// means and not on how it is spelled. It knows where each construct starts and ends and which flags
// apply to it; what a one-character construct matches is left to RE2 itself (see regex-atoms.ts). It
// refuses whatever it does not know (lookarounds, backreferences, \C, JavaScript-only escapes such as
// \u0020 or \cA, a '{' that does not start a repetition): such a pattern is never checked as safe.
//
// Read: literal characters; escapes \a \f \t \n \r \v, \xHH, \x{H..}, octal \0, \012, \123, escaped
// punctuation (\. \( \  ...); classes \d \D \s \S \w \W, \pL \p{Greek} \p{^Greek} \PL \P{..}; bracket
// classes with ranges, negation, [:name:] and escapes inside; '.'; \Q...\E; groups (...), (?:...),
// (?P<name>...), (?<name>...), flag groups (?i) (?i-s) (?s:...); alternation; repetitions * + ? {n}
// {n,} {n,m}, lazy or not; anchors ^ $ \A \z \b \B; and, when asked, a slot such as <ADDR>.

// Where a pattern could not be read, and why.
export class RegexSyntaxError extends Error {
  readonly offset: number;

  constructor(message: string, offset: number) {
    super(message);
    this.name = 'RegexSyntaxError';
    this.offset = offset;
  }
}

// The flags that change what a one-character construct matches: i (case) and s (. matches \n).
export type CharFlags = '' | 'i' | 's' | 'is';

// One node of a parsed pattern. start and end index the source, so a message can quote what was written.
export type RegexNode =
  // One character out of a set: a literal, an escape, a class, '.'. `atom` is RE2 text for it alone
  // (as written, or \x{..} for a character of \Q...\E), to be asked of RE2 under `flags`.
  | { kind: 'char'; atom: string; flags: CharFlags; start: number; end: number }
  // Matches no character: ^ $ \A \z \b \B, and (?flags), which only changes what follows.
  | { kind: 'assert'; start: number; end: number }
  | { kind: 'slot'; start: number; end: number }
  | { kind: 'concat'; items: RegexNode[]; start: number; end: number }
  | { kind: 'alternate'; branches: RegexNode[]; start: number; end: number }
  | { kind: 'group'; body: RegexNode; start: number; end: number }
  // max is Infinity for * + {n,}.
  | { kind: 'repeat'; body: RegexNode; min: number; max: number; start: number; end: number };

interface Flags {
  i: boolean;
  m: boolean;
  s: boolean;
  U: boolean;
}

const PERL_CLASSES = new Set(['d', 'D', 's', 'S', 'w', 'W']);
const SINGLE_ESCAPES = new Set(['a', 'f', 't', 'n', 'r', 'v']);
const ZERO_WIDTH_ESCAPES = new Set(['b', 'B', 'A', 'z']);
const REPEAT = /^\{(\d+)(,(\d*))?\}/;
const GROUP_NAME = /^[A-Za-z0-9_]+$/;

// Parses an RE2 pattern. With `slot`, that exact text, where a literal character could start, is a slot
// node (anywhere else, such as inside a class or \Q...\E, it stays characters).
export function parseRegex(source: string, slot?: string): RegexNode {
  const parser = new Parser(source, slot);
  const node = parser.alternation({ i: false, m: false, s: false, U: false });
  if (parser.at < source.length) throw new RegexSyntaxError(`unmatched ")"`, parser.at);
  return node;
}

class Parser {
  at = 0;

  constructor(
    private readonly source: string,
    private readonly slot: string | undefined,
  ) {}

  // Branches up to ')' or the end. Flags set by (?i) last to the end of the group, across '|'.
  alternation(outer: Flags): RegexNode {
    const flags = { ...outer };
    const start = this.at;
    const branches: RegexNode[] = [this.concatenation(flags)];
    while (this.source[this.at] === '|') {
      this.at++;
      branches.push(this.concatenation(flags));
    }
    if (branches.length === 1) return branches[0] as RegexNode;
    return { kind: 'alternate', branches, start, end: this.at };
  }

  private concatenation(flags: Flags): RegexNode {
    const start = this.at;
    const items: RegexNode[] = [];
    while (this.at < this.source.length) {
      const c = this.source[this.at];
      if (c === '|' || c === ')') break;
      for (const node of this.item(flags)) items.push(node);
    }
    return { kind: 'concat', items, start, end: this.at };
  }

  // One construct and the repetition after it; \Q...\E gives one node per character (a repetition
  // after it repeats the last character, as in RE2).
  private item(flags: Flags): RegexNode[] {
    const nodes = this.atom(flags);
    const last = nodes[nodes.length - 1];
    if (last === undefined) return nodes;
    const repeated = this.repetition(last);
    nodes[nodes.length - 1] = repeated;
    return nodes;
  }

  private repetition(node: RegexNode): RegexNode {
    const bounds = this.readRepeat();
    if (bounds === undefined) return node;
    const operatorStart = bounds.start;
    if (node.kind === 'assert')
      throw new RegexSyntaxError(`nothing to repeat before ${JSON.stringify(this.source.slice(operatorStart, this.at))}`, operatorStart);
    if (node.kind === 'slot') throw new RegexSyntaxError(`the slot cannot repeat`, operatorStart);
    if (this.source[this.at] === '?') this.at++;
    if (this.readRepeat() !== undefined)
      throw new RegexSyntaxError(`a repetition of a repetition (${JSON.stringify(this.source.slice(operatorStart, this.at))})`, operatorStart);
    if (bounds.max < bounds.min) throw new RegexSyntaxError(`bad repetition ${JSON.stringify(this.source.slice(operatorStart, this.at))}`, operatorStart);
    return { kind: 'repeat', body: node, min: bounds.min, max: bounds.max, start: node.start, end: this.at };
  }

  private readRepeat(): { min: number; max: number; start: number } | undefined {
    const start = this.at;
    const c = this.source[this.at];
    if (c === '*' || c === '+' || c === '?') {
      this.at++;
      return { min: c === '+' ? 1 : 0, max: c === '?' ? 1 : Infinity, start };
    }
    if (c === '{') {
      const match = REPEAT.exec(this.source.slice(this.at));
      if (!match) return undefined;
      this.at += match[0].length;
      const min = Number(match[1]);
      const max = match[2] === undefined ? min : match[3] === '' ? Infinity : Number(match[3]);
      return { min, max, start };
    }
    return undefined;
  }

  private atom(flags: Flags): RegexNode[] {
    const start = this.at;
    const source = this.source;
    const c = source[start] as string;
    if (this.slot !== undefined && source.startsWith(this.slot, start)) {
      this.at += this.slot.length;
      return [{ kind: 'slot', start, end: this.at }];
    }
    if (c === '(') return [this.group(flags)];
    if (c === '[') return [this.charNode(this.bracketEnd(start), flags)];
    if (c === '\\') return this.escape(flags);
    if (c === '.') return [this.charNode(start + 1, flags)];
    if (c === '^' || c === '$') {
      this.at++;
      return [{ kind: 'assert', start, end: this.at }];
    }
    if (c === '*' || c === '+' || c === '?') throw new RegexSyntaxError(`nothing to repeat before ${JSON.stringify(c)}`, start);
    if (c === '{') {
      if (REPEAT.test(source.slice(start)))
        throw new RegexSyntaxError(`nothing to repeat before ${JSON.stringify(REPEAT.exec(source.slice(start))?.[0])}`, start);
      throw new RegexSyntaxError(`a "{" that does not start a repetition (write a literal one as \\{)`, start);
    }
    const code = source.codePointAt(start) as number;
    return [this.charNode(start + (code > 0xffff ? 2 : 1), flags)];
  }

  private charNode(end: number, flags: Flags, atom = this.source.slice(this.at, end)): RegexNode {
    const start = this.at;
    this.at = end;
    return { kind: 'char', atom, flags: charFlags(flags), start, end };
  }

  private group(outer: Flags): RegexNode {
    const start = this.at;
    const source = this.source;
    this.at++;
    let flags = outer;
    if (source[this.at] === '?') {
      const rest = source.slice(this.at);
      const named = /^\?P?<([^>]*)>/.exec(rest);
      if (named) {
        if (!GROUP_NAME.test(named[1] ?? '')) throw new RegexSyntaxError(`bad group name ${JSON.stringify(named[1])}`, start);
        this.at += named[0].length;
      } else {
        const flagged = /^\?([imsU]*)(?:-([imsU]*))?([:)])/.exec(rest);
        if (!flagged)
          throw new RegexSyntaxError(`${JSON.stringify(source.slice(start, start + 3))} is not a group RE2 has (no lookarounds, no backreferences)`, start);
        const [whole, on = '', off, end] = flagged;
        if (on === '' && off === undefined && end === ':') {
          this.at += whole.length;
          return this.groupBody(start, outer);
        }
        if ((on === '' && off === undefined) || off === '')
          throw new RegexSyntaxError(`empty flags in ${JSON.stringify(source.slice(start, start + whole.length + 1))}`, start);
        flags = { ...outer };
        for (const flag of on) flags[flag as keyof Flags] = true;
        for (const flag of off ?? '') flags[flag as keyof Flags] = false;
        this.at += whole.length;
        if (end === ')') {
          // (?flags): the rest of the enclosing group reads with these flags.
          Object.assign(outer, flags);
          return { kind: 'assert', start, end: this.at };
        }
      }
    }
    return this.groupBody(start, flags);
  }

  private groupBody(start: number, flags: Flags): RegexNode {
    const body = this.alternation(flags);
    if (this.source[this.at] !== ')') throw new RegexSyntaxError(`missing ")" for the group opened here`, start);
    this.at++;
    return { kind: 'group', body, start, end: this.at };
  }

  private escape(flags: Flags): RegexNode[] {
    const start = this.at;
    const source = this.source;
    const e = source[start + 1];
    if (e === undefined) throw new RegexSyntaxError('a "\\" at the end of the pattern', start);
    if (e === 'Q') {
      const close = source.indexOf('\\E', start + 2);
      const end = close === -1 ? source.length : close;
      const nodes: RegexNode[] = [];
      this.at = start + 2;
      while (this.at < end) {
        const code = source.codePointAt(this.at) as number;
        const charEnd = this.at + (code > 0xffff ? 2 : 1);
        nodes.push(this.charNode(charEnd, flags, `\\x{${code.toString(16)}}`));
      }
      this.at = close === -1 ? end : close + 2;
      return nodes;
    }
    if (ZERO_WIDTH_ESCAPES.has(e)) {
      this.at = start + 2;
      return [{ kind: 'assert', start, end: this.at }];
    }
    return [this.charNode(this.escapeEnd(start, false), flags)];
  }

  // The end of the escape at `start` (a backslash), in or out of a class.
  private escapeEnd(start: number, inClass: boolean): number {
    const source = this.source;
    const e = source[start + 1];
    if (e === undefined) throw new RegexSyntaxError('a "\\" at the end of the pattern', start);
    if (PERL_CLASSES.has(e) || SINGLE_ESCAPES.has(e)) return start + 2;
    if (e === 'p' || e === 'P') {
      if (source[start + 2] === '{') {
        const close = source.indexOf('}', start + 3);
        if (close === -1 || !/^\^?[A-Za-z_]+$/.test(source.slice(start + 3, close)))
          throw new RegexSyntaxError(`bad Unicode class ${JSON.stringify(source.slice(start, close === -1 ? start + 3 : close + 1))}`, start);
        return close + 1;
      }
      if (!/[A-Za-z]/.test(source[start + 2] ?? '')) throw new RegexSyntaxError(`bad Unicode class ${JSON.stringify(source.slice(start, start + 3))}`, start);
      return start + 3;
    }
    if (e === 'x') {
      if (source[start + 2] === '{') {
        const close = source.indexOf('}', start + 3);
        if (close === -1 || !/^[0-9A-Fa-f]{1,8}$/.test(source.slice(start + 3, close)))
          throw new RegexSyntaxError(`bad hexadecimal escape ${JSON.stringify(source.slice(start, close === -1 ? start + 3 : close + 1))}`, start);
        return close + 1;
      }
      if (!/^[0-9A-Fa-f]{2}$/.test(source.slice(start + 2, start + 4)))
        throw new RegexSyntaxError(`bad hexadecimal escape ${JSON.stringify(source.slice(start, start + 4))} (two digits, or \\x{...})`, start);
      return start + 4;
    }
    if (e >= '0' && e <= '7') {
      // RE2: \0, \0n, \0nn; \1 to \7 only followed by an octal digit (alone they would be backreferences).
      let end = start + 2;
      if (e !== '0' && !/[0-7]/.test(source[end] ?? ''))
        throw new RegexSyntaxError(`backreference ${JSON.stringify(source.slice(start, end))} (RE2 has none)`, start);
      for (let digits = 0; digits < 2 && /[0-7]/.test(source[end] ?? ''); digits++) end++;
      return end;
    }
    if (e === '8' || e === '9') throw new RegexSyntaxError(`backreference ${JSON.stringify(source.slice(start, start + 2))} (RE2 has none)`, start);
    if (e === 'Q' || e === 'E') {
      if (inClass) throw new RegexSyntaxError(`${JSON.stringify(`\\${e}`)} inside a class`, start);
      throw new RegexSyntaxError(`a "\\E" without "\\Q"`, start);
    }
    if (e === 'C') throw new RegexSyntaxError('"\\C" (any byte) is not supported', start);
    // Escaped punctuation or space stands for itself.
    if (/^[ !-/:-@[-`{-~]$/.test(e)) return start + 2;
    throw new RegexSyntaxError(`unknown escape ${JSON.stringify(`\\${e}`)} (RE2 syntax: \\x{20}, not \\u0020)`, start);
  }

  // The end of the bracket class opening at `start`, read the way RE2 reads it.
  private bracketEnd(start: number): number {
    const source = this.source;
    let at = start + 1;
    if (source[at] === '^') at++;
    let first = true;
    // The kind of the last item: 'char' can start a range, 'class' cannot, undefined at the start.
    let previous: 'char' | 'class' | 'range' | undefined;
    for (;;) {
      const c = source[at];
      if (c === undefined) throw new RegexSyntaxError('missing "]" for the class opened here', start);
      if (c === ']' && !first) return at + 1;
      first = false;
      if (c === '-' && previous === 'char' && source[at + 1] !== ']' && source[at + 1] !== undefined) {
        // A range: its end is one character.
        const endStart = at + 1;
        const next = this.classItem(endStart);
        if (next.kind !== 'char') throw new RegexSyntaxError(`bad range end ${JSON.stringify(source.slice(endStart, next.end))}`, endStart);
        at = next.end;
        previous = 'range';
        continue;
      }
      const item = this.classItem(at);
      at = item.end;
      previous = item.kind;
    }
  }

  private classItem(at: number): { kind: 'char' | 'class'; end: number } {
    const source = this.source;
    const posix = /^\[:\^?[a-z]+:\]/.exec(source.slice(at));
    if (posix) return { kind: 'class', end: at + posix[0].length };
    if (source[at] === '\\') {
      const e = source[at + 1] ?? '';
      if (ZERO_WIDTH_ESCAPES.has(e)) throw new RegexSyntaxError(`${JSON.stringify(`\\${e}`)} inside a class`, at);
      const end = this.escapeEnd(at, true);
      return { kind: PERL_CLASSES.has(e) || e === 'p' || e === 'P' ? 'class' : 'char', end };
    }
    const code = source.codePointAt(at) as number;
    return { kind: 'char', end: at + (code > 0xffff ? 2 : 1) };
  }
}

function charFlags(flags: Flags): CharFlags {
  return flags.i ? (flags.s ? 'is' : 'i') : flags.s ? 's' : '';
}
