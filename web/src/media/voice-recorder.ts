/**
 * Recording a voice message with the browser's MediaRecorder (Opus in WebM where the browser has it). When the
 * recording stops, the audio is decoded once to measure its duration and draw its waveform: 64 levels from 0 to 1024
 * (MSC1767's extensible audio), the loudest sample of each slice.
 */

export interface Recording {
  blob: Blob;
  durationMs: number;
  waveform: number[];
}

export interface Recorder {
  stop(): Promise<Recording>;
  cancel(): void;
}

const TYPES = ['audio/webm;codecs=opus', 'audio/ogg;codecs=opus', 'audio/webm', 'audio/mp4'];

export async function startRecording(): Promise<Recorder> {
  if (!navigator.mediaDevices?.getUserMedia || typeof MediaRecorder === 'undefined') throw new Error('This browser cannot record audio.');
  let stream: MediaStream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  } catch {
    throw new Error('The microphone is not available: allow this page to use it (the browser asks, or see its site settings).');
  }
  const mimeType = TYPES.find((t) => MediaRecorder.isTypeSupported(t));
  const recorder = new MediaRecorder(stream, mimeType ? { mimeType } : undefined);
  const chunks: Blob[] = [];
  recorder.ondataavailable = (e) => {
    if (e.data.size > 0) chunks.push(e.data);
  };
  const started = performance.now();
  recorder.start(250);
  const release = () => stream.getTracks().forEach((t) => t.stop());
  return {
    stop: () =>
      new Promise<Recording>((resolve, reject) => {
        recorder.onstop = async () => {
          release();
          const elapsed = performance.now() - started;
          const blob = new Blob(chunks, { type: (recorder.mimeType || mimeType || 'audio/webm').split(';')[0] });
          if (blob.size === 0) return reject(new Error('Nothing was recorded.'));
          const measured = await measure(blob).catch(() => undefined);
          resolve({ blob, durationMs: measured?.durationMs ?? elapsed, waveform: measured?.waveform ?? new Array(64).fill(0) });
        };
        recorder.stop();
      }),
    cancel: () => {
      recorder.onstop = release;
      recorder.stop();
    },
  };
}

async function measure(blob: Blob): Promise<{ durationMs: number; waveform: number[] }> {
  const ctx = new AudioContext();
  try {
    const audio = await ctx.decodeAudioData(await blob.arrayBuffer());
    const samples = audio.getChannelData(0);
    const bars = 64;
    const step = Math.max(1, Math.floor(samples.length / bars));
    const waveform: number[] = [];
    for (let i = 0; i < bars; i++) {
      let peak = 0;
      for (let j = i * step; j < Math.min(samples.length, (i + 1) * step); j++) peak = Math.max(peak, Math.abs(samples[j]));
      waveform.push(Math.round(Math.min(1, peak) * 1024));
    }
    return { durationMs: audio.duration * 1000, waveform };
  } finally {
    void ctx.close();
  }
}
