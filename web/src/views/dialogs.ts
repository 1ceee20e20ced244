// Modal dialogs on the native <dialog> element (focus trapped, Escape cancels).

import { h } from '../dom';

function open(dialog: HTMLDialogElement): void {
  document.body.appendChild(dialog);
  dialog.addEventListener('close', () => dialog.remove());
  dialog.showModal();
}

// A yes/no question; resolves true when confirmed.
export function confirmDialog(opts: { title: string; text: string; confirm: string; danger?: boolean }): Promise<boolean> {
  return new Promise((resolve) => {
    const dialog = h(
      'dialog',
      { class: 'dialog', 'aria-labelledby': 'dlg-title' },
      h(
        'form',
        { method: 'dialog' },
        h('h2', { id: 'dlg-title' }, opts.title),
        h('p', null, opts.text),
        h(
          'div',
          { class: 'dialog-actions' },
          h('button', { value: 'cancel', type: 'submit' }, 'Cancel'),
          h('button', { value: 'ok', type: 'submit', class: opts.danger ? 'danger' : 'primary' }, opts.confirm),
        ),
      ),
    );
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'));
    open(dialog);
  });
}

// One line of text; resolves null when cancelled.
export function promptDialog(opts: { title: string; label: string; value: string; maxLength: number; confirm: string }): Promise<string | null> {
  return new Promise((resolve) => {
    const input = h('input', { id: 'dlg-input', type: 'text', value: opts.value, maxlength: opts.maxLength, required: true });
    const dialog = h(
      'dialog',
      { class: 'dialog', 'aria-labelledby': 'dlg-title' },
      h(
        'form',
        { method: 'dialog' },
        h('h2', { id: 'dlg-title' }, opts.title),
        h('div', { class: 'field' }, h('label', { for: 'dlg-input' }, opts.label), input),
        h(
          'div',
          { class: 'dialog-actions' },
          h('button', { value: 'cancel', type: 'submit', formnovalidate: true }, 'Cancel'),
          h('button', { value: 'ok', type: 'submit', class: 'primary' }, opts.confirm),
        ),
      ),
    );
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok' ? input.value.trim() : null));
    open(dialog);
    input.select();
  });
}

// An image at full size.
export function imageDialog(src: string, alt: string): void {
  const dialog = h(
    'dialog',
    { class: 'dialog dialog-image', 'aria-label': alt },
    h('form', { method: 'dialog' }, h('img', { src, alt }), h('div', { class: 'dialog-actions' }, h('button', { type: 'submit' }, 'Close'))),
  );
  dialog.addEventListener('click', (e) => {
    if (e.target === dialog) dialog.close();
  });
  open(dialog);
}
