/**
 * Wording of the Training panel (mask source names, prepare progress, ETA), as pure functions so
 * the panel and its tests agree on what people read.
 */
import type { JobProgress, MaskSourceKind, ModelInfo, PrepareState } from '../../main/contract/api.ts';
import type { PrepareOutcome } from './studio.svelte.ts';

export function maskSourceLabel(source: MaskSourceKind | 'mixed'): string {
  switch (source) {
    case 'auto': return 'built-in (no SAM model)';
    case 'sam': return 'SAM model';
    case 'imported': return 'imported masks';
    case 'mixed': return 'mixed (views differ)';
  }
}

/** "about 5 s left", "about 2 min 10 s left"; empty when the host could not estimate it yet. */
export function etaText(etaSeconds: number | undefined): string {
  if (etaSeconds === undefined || !Number.isFinite(etaSeconds)) return '';
  const s = Math.max(0, Math.ceil(etaSeconds));
  if (s < 60) return `about ${s} s left`;
  const min = Math.floor(s / 60);
  const rest = s % 60;
  return `about ${min} min${rest ? ` ${rest} s` : ''} left`;
}

/**
 * "view 2 of 4": the view being worked on. `done` counts views already handled, so the next one is
 * done + 1 until the last is handled.
 */
export function viewOfText(progress: Pick<JobProgress, 'done' | 'total'>): string {
  if (progress.total <= 0) return 'starting…';
  return `view ${Math.min(progress.done + 1, progress.total)} of ${progress.total}`;
}

/** "3 of 24 views prepared". */
export function preparedText(state: Pick<PrepareState, 'views' | 'prepared'>): string {
  return `${state.prepared} of ${state.views} view${state.views === 1 ? '' : 's'} prepared`;
}

/** SAM models that can be used now: installed and runnable, recommended first. */
export function usableModels(models: readonly ModelInfo[]): ModelInfo[] {
  return models.filter((m) => m.installed && m.supported).sort((a, b) => Number(b.recommended ?? false) - Number(a.recommended ?? false));
}

/** "4 of 4 views prepared · masks: built-in (no SAM model)". */
export function prepareStateText(state: Pick<PrepareState, 'views' | 'prepared' | 'maskSource'>): string {
  return preparedText(state) + (state.maskSource ? ` · masks: ${maskSourceLabel(state.maskSource)}` : '');
}

/**
 * The progress bar's line: "Preparing masks · view 2 of 4 · view_001" (null before the first
 * event). The job's stage is named when it is not the per-view 'prepare' stage itself.
 */
export function prepareProgressText(progress: (Pick<JobProgress, 'done' | 'total'> & { stage?: string; view?: string }) | null): string {
  if (!progress) return 'Preparing masks · starting…';
  const stage = progress.stage && progress.stage !== 'prepare' ? ` (${progress.stage})` : '';
  return `Preparing masks${stage} · ${viewOfText(progress)}${progress.view ? ` · ${progress.view}` : ''}`;
}

/** The model to offer for download: the registry's recommended one that this version can run. */
export function recommendedModel(models: readonly ModelInfo[]): ModelInfo | undefined {
  return models.find((m) => m.recommended && m.supported) ?? models.find((m) => m.supported);
}

/** "ViT-B (109 MB)": a model's name with its download size. */
export function modelLabel(model: ModelInfo): string {
  return model.size ? `${model.name} (${Math.round(model.size / 1e6)} MB)` : model.name;
}

/** "Downloading · 45% of 109 MB". */
export function downloadProgressText(progress: Pick<JobProgress, 'done' | 'total'> | null): string {
  if (!progress || progress.total <= 0) return 'Downloading · starting…';
  return `Downloading · ${Math.floor((100 * progress.done) / progress.total)}% of ${Math.round(progress.total / 1e6)} MB`;
}

/**
 * How a prepare run that gave no summary ended, in the panel's words: the app says to click
 * Prepare (the host's message is written for every front end, the command line included).
 */
export function outcomeText(outcome: PrepareOutcome): string {
  if (outcome.kind === 'cancelled') return 'Cancelled. The views finished before are kept: click Prepare to continue from there.';
  return `Failed. ${outcome.error.message}`;
}
