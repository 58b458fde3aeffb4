// Transcript files: a command line, "----", the expected output, a blank line. Lines
// starting with '#' between blocks are comments. With REWRITE=1 in the environment the
// expected outputs are regenerated in place (review the diff before committing).

/** One parsed command: `name pos1 pos2 key=value key=(a,b)`. */
export interface Command {
  name: string
  /** Positional arguments, in order. */
  args: string[]
  /** key=value arguments; a parenthesized list stays as written, e.g. "(1,2,3)". */
  kv: Map<string, string>
  /** The command line as written. */
  line: string
  /** 1-based line number in the file. */
  lineNo: number
}

/** A command, its expected output and the comment lines written before it. */
export interface Block {
  comments: string[]
  command: Command
  expected: string
}

/** Splits a command line into a Command. Parentheses and double quotes group words. */
export function parseCommand(line: string, lineNo = 0): Command {
  const words: string[] = []
  let cur = ''
  let depth = 0
  let quoted = false
  for (const ch of line.trim()) {
    if (ch === '"') quoted = !quoted
    else if (!quoted && ch === '(') depth++
    else if (!quoted && ch === ')') depth--
    if (!quoted && depth === 0 && /\s/.test(ch)) {
      if (cur !== '') words.push(cur)
      cur = ''
    } else {
      cur += ch
    }
  }
  if (cur !== '') words.push(cur)
  const [name = '', ...rest] = words
  const args: string[] = []
  const kv = new Map<string, string>()
  for (const w of rest) {
    const eq = w.indexOf('=')
    if (eq > 0 && !w.startsWith('"')) kv.set(w.slice(0, eq), w.slice(eq + 1))
    else args.push(w.startsWith('"') && w.endsWith('"') && w.length >= 2 ? w.slice(1, -1) : w)
  }
  return { name, args, kv, line: line.trim(), lineNo }
}

/** Parses a transcript file. Throws on a command without "----". */
export function parseTranscript(text: string): { blocks: Block[]; trailing: string[] } {
  const lines = text.split('\n')
  const blocks: Block[] = []
  let comments: string[] = []
  let i = 0
  while (i < lines.length) {
    const line = lines[i] as string
    if (line.trim() === '' || line.startsWith('#')) {
      comments.push(line)
      i++
      continue
    }
    const command = parseCommand(line, i + 1)
    i++
    if (lines[i] !== '----') throw new Error(`line ${i + 1}: expected "----" after command "${line}"`)
    i++
    const out: string[] = []
    while (i < lines.length && (lines[i] as string) !== '') out.push(lines[i++] as string)
    blocks.push({ comments, command, expected: out.join('\n') })
    comments = []
  }
  return { blocks, trailing: comments }
}

/** Renders blocks back to a file, with new outputs. */
export function renderTranscript(blocks: readonly Block[], outputs: readonly string[], trailing: readonly string[]): string {
  const parts: string[] = []
  blocks.forEach((b, k) => {
    parts.push(...b.comments)
    parts.push(b.command.line, '----', outputs[k] as string)
  })
  parts.push(...trailing)
  let text = parts.join('\n')
  if (!text.endsWith('\n')) text += '\n'
  return text
}
