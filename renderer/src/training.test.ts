import { describe, expect, it } from 'vitest';
import type { ModelInfo } from '../../main/contract/api.ts';
import { downloadProgressText, etaText, maskSourceLabel, modelLabel, outcomeText, prepareProgressText, prepareStateText, preparedText, recommendedModel, usableModels, viewOfText } from './training.ts';

describe('Training panel wording', () => {
  it('says which view is being worked on, never past the last', () => {
    expect(viewOfText({ done: 0, total: 4 })).toBe('view 1 of 4');
    expect(viewOfText({ done: 3, total: 4 })).toBe('view 4 of 4');
    expect(viewOfText({ done: 4, total: 4 })).toBe('view 4 of 4');
    expect(viewOfText({ done: 0, total: 0 })).toBe('starting…');
  });

  it('rounds the ETA up and switches to minutes past one minute', () => {
    expect(etaText(undefined)).toBe('');
    expect(etaText(0.2)).toBe('about 1 s left');
    expect(etaText(59)).toBe('about 59 s left');
    expect(etaText(60)).toBe('about 1 min left');
    expect(etaText(130)).toBe('about 2 min 10 s left');
  });

  it('names the mask sources and counts prepared views', () => {
    expect(maskSourceLabel('auto')).toMatch(/built-in/);
    expect(preparedText({ views: 1, prepared: 0 })).toBe('0 of 1 view prepared');
    expect(preparedText({ views: 24, prepared: 3 })).toBe('3 of 24 views prepared');
    expect(prepareStateText({ views: 4, prepared: 0 })).toBe('0 of 4 views prepared');
    expect(prepareStateText({ views: 4, prepared: 4, maskSource: 'auto' })).toBe('4 of 4 views prepared · masks: built-in (no SAM model)');
    expect(prepareProgressText(null)).toBe('Preparing masks · starting…');
    expect(prepareProgressText({ stage: 'prepare', done: 1, total: 4, view: 'view_000' })).toBe('Preparing masks · view 2 of 4 · view_000');
    expect(prepareProgressText({ stage: 'load-model', done: 0, total: 4 })).toBe('Preparing masks (load-model) · view 1 of 4');
  });

  it('offers only installed, runnable models, the recommended one first', () => {
    const m = (id: string, installed: boolean, supported: boolean, recommended?: boolean): ModelInfo => ({ id, name: id, size: null, installed, supported, ...(recommended ? { recommended } : {}) });
    const models = [m('a', true, true), m('b', false, true, true), m('c', true, false), m('d', true, true, true)];
    expect(usableModels(models).map((x) => x.id)).toEqual(['d', 'a']);
  });

  it('offers the recommended runnable model for download, with its size', () => {
    const m = (id: string, supported: boolean, recommended?: boolean): ModelInfo => ({ id, name: `SAM ${id}`, size: 108_571_344, installed: false, supported, ...(recommended ? { recommended } : {}) });
    expect(recommendedModel([m('a', true), m('b', true, true)])?.id).toBe('b');
    expect(recommendedModel([m('x', false, true), m('a', true)])?.id).toBe('a');
    expect(modelLabel(m('b', true))).toBe('SAM b (109 MB)');
    expect(downloadProgressText(null)).toBe('Downloading · starting…');
    expect(downloadProgressText({ done: 54_000_000, total: 108_571_344 })).toBe('Downloading · 49% of 109 MB');
  });

  it('says to click Prepare after a cancel, never to run a command', () => {
    const text = outcomeText({ kind: 'cancelled', error: { code: 'CANCELLED', message: 'Preparation was cancelled.' } });
    expect(text).toContain('click Prepare');
    expect(text).not.toMatch(/saga-studio/);
    expect(outcomeText({ kind: 'failed', error: { code: 'GPU_ERROR', message: 'The GPU went away.' } })).toBe('Failed. The GPU went away.');
  });
});
