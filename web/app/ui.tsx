// Small UI pieces of the meeting app: a modal dialog on <dialog> (focus kept inside, Escape
// closes it, named by its heading), readable errors, and the audio level of a track.
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';

let dialogSeq = 0;

/**
 * Dialog is a modal dialog: showModal() keeps the keyboard inside it and Escape calls onClose.
 * Its accessible name is its title; role "alertdialog" for a confirmation.
 */
export function Dialog(props: { title: string; onClose: () => void; role?: 'dialog' | 'alertdialog'; children: ComponentChildren }) {
  const ref = useRef<HTMLDialogElement>(null);
  const [id] = useState(() => `dialog-title-${++dialogSeq}`);
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
    const cancel = (e: Event) => {
      e.preventDefault();
      props.onClose();
    };
    d?.addEventListener('cancel', cancel);
    return () => {
      d?.removeEventListener('cancel', cancel);
      if (d?.open) d.close();
    };
  }, []);
  return (
    <dialog ref={ref} role={props.role ?? 'dialog'} aria-labelledby={id} aria-modal="true">
      <h2 id={id}>{props.title}</h2>
      {props.children}
    </dialog>
  );
}

/** ErrorText shows an error where it happened, announced to screen readers. */
export function ErrorText(props: { error: string }) {
  return props.error ? <p role="alert" class="error">{props.error}</p> : null;
}

/** describe turns an SDK error (RTKError) or any other into a sentence a person can read. */
export function describe(err: unknown): string {
  const e = err as { status?: number; message?: string; kind?: string };
  const msg = e?.message ?? String(err);
  switch (e?.status) {
    case 401:
      return `Your meeting link is no longer valid: ${msg}`;
    case 403:
      return `Not allowed: ${msg}`;
    case 409:
      return `The breakout rooms changed meanwhile; this shows them as they are now. (${msg})`;
    case 429:
      return `Too many requests; try again in a moment. (${msg})`;
  }
  if (e?.status && e.status >= 500) return `The server failed (${e.status}): ${msg}. Try again.`;
  if (e?.kind === 'network') return `The server cannot be reached: ${msg}`;
  return msg;
}

/** useAsync runs actions one at a time, keeping the last error to show beside them. */
export function useAsync(): { busy: boolean; error: string; run: (f: () => Promise<unknown>) => Promise<boolean>; setError: (e: string) => void } {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const run = async (f: () => Promise<unknown>) => {
    setBusy(true);
    setError('');
    try {
      await f();
      return true;
    } catch (err) {
      setError(describe(err));
      return false;
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, run, setError };
}

let audioCtx: AudioContext | undefined;
const analysers = new WeakMap<MediaStreamTrack, AnalyserNode>();

/** resumeAudio starts the page's AudioContext (after a click). */
export function resumeAudio(): void {
  audioCtx ??= new AudioContext();
  void audioCtx.resume();
}

/** levelOf returns the level (0..1, RMS) of an audio track now. */
export function levelOf(track: MediaStreamTrack | undefined): number {
  if (!track || track.readyState !== 'live') return 0;
  audioCtx ??= new AudioContext();
  let a = analysers.get(track);
  if (!a) {
    a = audioCtx.createAnalyser();
    a.fftSize = 512;
    audioCtx.createMediaStreamSource(new MediaStream([track])).connect(a);
    analysers.set(track, a);
  }
  const buf = new Float32Array(a.fftSize);
  a.getFloatTimeDomainData(buf);
  let sum = 0;
  for (const v of buf) sum += v * v;
  return Math.min(1, Math.sqrt(sum / buf.length) * 4);
}

/** useNow re-renders every ms milliseconds while on, and returns Date.now(). */
export function useNow(on: boolean, ms = 250): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (!on) return;
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [on, ms]);
  return now;
}
