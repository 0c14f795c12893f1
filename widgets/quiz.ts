/**
 * Quiz: multiple-choice questions with a "check" button and an explanation.
 * Answers may be stored hashed (sha256 hex of salt + answer text) so the
 * notebooks handed to students don't reveal them; `hashAnswer` makes the
 * hash for instructors. Without comms the bundle is a text/HTML rendering
 * of the questions (no answers). The explanation usually gives the answer
 * away, so distributed copies carry it sealed (`explanationSealed`,
 * AES-256-GCM keyed by the answer): only picking the right option opens it.
 */
import { createCipheriv, createDecipheriv, createHash } from "node:crypto";
import type { MimeBundle } from "./kernel-bridge";
import { Button, HTML, RadioButtons, VBox, escapeHtml, type ControlOptions } from "./controls";

export interface QuizQuestion {
  question: string;
  options: string[];
  /** the right option (its text, or its index) */
  answer?: string | number;
  /** sha256 hex of (salt + answer text), instead of `answer` */
  answerHash?: string;
  salt?: string;
  explanation?: string;
  /** `explanation` encrypted with the answer (`sealExplanation`); shown when the right option is checked */
  explanationSealed?: string;
}

const SEAL_PREFIX = "v1:";
function sealKey(answer: string, salt: string): Buffer {
  return createHash("sha256").update(`tunelab-quiz-explanation\u0000${salt}\u0000${answer}`, "utf8").digest();
}

/** Encrypt an explanation so that only the right answer text (with the same salt) opens it. */
export function sealExplanation(explanation: string, answer: string, salt = ""): string {
  const key = sealKey(answer, salt);
  // synthetic IV (hash of key and text): builds stay reproducible, and an IV repeats only with the same text
  const iv = createHash("sha256").update(key).update(explanation, "utf8").digest().subarray(0, 12);
  const c = createCipheriv("aes-256-gcm", key, iv);
  const body = Buffer.concat([c.update(explanation, "utf8"), c.final()]);
  return SEAL_PREFIX + Buffer.concat([iv, c.getAuthTag(), body]).toString("base64");
}

/** The sealed explanation if `choice` is the answer it was sealed with, else null (GCM authenticates the key). */
export function openExplanation(sealed: string, choice: string, salt = ""): string | null {
  if (!sealed.startsWith(SEAL_PREFIX)) return null;
  const raw = Buffer.from(sealed.slice(SEAL_PREFIX.length), "base64");
  if (raw.length < 28) return null;
  try {
    const d = createDecipheriv("aes-256-gcm", sealKey(choice, salt), raw.subarray(0, 12));
    d.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([d.update(raw.subarray(28)), d.final()]).toString("utf8");
  } catch {
    return null;
  }
}

export function hashAnswer(answer: string, salt = ""): string {
  return createHash("sha256").update(salt + answer, "utf8").digest("hex");
}

/** Whether `choice` (option text) is the right answer of `q`. */
export function checkAnswer(q: QuizQuestion, choice: string): boolean {
  if (q.answer !== undefined) {
    const right = typeof q.answer === "number" ? q.options[q.answer] : q.answer;
    return choice === right;
  }
  if (q.answerHash !== undefined) return hashAnswer(choice, q.salt ?? "") === q.answerHash.toLowerCase();
  throw new Error("quiz question needs `answer` or `answerHash`");
}

function validate(qs: QuizQuestion[]): void {
  qs.forEach((q, i) => {
    if (!q || typeof q.question !== "string") throw new Error(`quiz[${i}].question: expected a string`);
    if (!Array.isArray(q.options) || q.options.length < 2 || !q.options.every((o) => typeof o === "string"))
      throw new Error(`quiz[${i}].options: expected at least two strings`);
    if (q.answer === undefined && q.answerHash === undefined) throw new Error(`quiz[${i}]: give answer or answerHash`);
    if (typeof q.answer === "number" && !(q.answer >= 0 && q.answer < q.options.length)) throw new Error(`quiz[${i}].answer: index out of range 0..${q.options.length - 1}`);
    if (typeof q.answer === "string" && !q.options.includes(q.answer)) throw new Error(`quiz[${i}].answer: not one of the options`);
    if (q.answerHash !== undefined && !/^[0-9a-f]{64}$/i.test(q.answerHash)) throw new Error(`quiz[${i}].answerHash: expected 64 hex digits (sha256)`);
    if (q.explanationSealed !== undefined && !(typeof q.explanationSealed === "string" && q.explanationSealed.startsWith(SEAL_PREFIX)))
      throw new Error(`quiz[${i}].explanationSealed: expected "${SEAL_PREFIX}…" from sealExplanation()`);
  });
}

class QuestionBox extends VBox {
  readonly choices: RadioButtons;
  readonly check: Button;
  readonly feedback: HTML;
  constructor(readonly q: QuizQuestion, n: number, opts: ControlOptions) {
    const prompt = new HTML({ value: `<b>${n}. ${escapeHtml(q.question)}</b>` }, opts);
    // full width: ipywidgets' radio labels have a fixed line height, so a long option wrapped at the default 300 px overlaps the next one
    const choices = new RadioButtons({ options: q.options, index: null }, { ...opts, layout: { width: "100%", ...opts.layout } });
    const check = new Button({ description: "check", button_style: "primary" }, opts);
    const feedback = new HTML({ value: "" }, opts);
    super([prompt, choices, check, feedback], {}, opts);
    this.choices = choices;
    this.check = check;
    this.feedback = feedback;
    check.onClick(() => this.grade());
  }
  grade(): boolean | null {
    const choice = this.choices.value;
    if (choice == null) {
      this.feedback.value = "<i>pick an answer first</i>";
      return null;
    }
    const ok = checkAnswer(this.q, choice);
    const text = this.q.explanation ?? (ok && this.q.explanationSealed ? openExplanation(this.q.explanationSealed, choice, this.q.salt ?? "") : null);
    const expl = text ? ` ${escapeHtml(text)}` : "";
    this.feedback.value = ok ? `<span style="color:#1a7f37">✔ Correct.</span>${expl}` : `<span style="color:#b00">✘ Not quite, try again.</span>`;
    return ok;
  }
}

export class Quiz extends VBox {
  readonly questions: QuestionBox[];
  constructor(readonly items: QuizQuestion[], opts: ControlOptions = {}) {
    validate(items);
    const boxes = items.map((q, i) => new QuestionBox(q, i + 1, opts));
    super(boxes, {}, opts);
    this.questions = boxes;
  }
  fallbackBundle(): MimeBundle {
    const letters = "ABCDEFGHIJ";
    const text = this.items.map((q, i) => `${i + 1}. ${q.question}\n${q.options.map((o, j) => `   ${letters[j] ?? j}) ${o}`).join("\n")}`).join("\n\n");
    const html = this.items
      .map((q, i) => `<p><b>${i + 1}. ${escapeHtml(q.question)}</b></p><ol type="A">${q.options.map((o) => `<li>${escapeHtml(o)}</li>`).join("")}</ol>`)
      .join("");
    return { "text/plain": text, "text/html": `<div class="tunelab-quiz">${html}</div>` };
  }
}

/** Multiple-choice questions with check buttons; displays itself. */
export function quiz(items: QuizQuestion[], opts: ControlOptions = {}): Quiz {
  return new Quiz(items, opts);
}
