// Modal dialogs on the native <dialog> element (focus trapped, Escape cancels).

import { h } from '../dom';

// A modal with a title, a body and Cancel / confirm buttons; resolves true when confirmed.
function ask(title: string, body: Node, confirm: string, confirmClass: string): Promise<boolean> {
  return new Promise((resolve) => {
    const dialog = h(
      'dialog',
      { class: 'dialog', 'aria-labelledby': 'dlg-title' },
      h(
        'form',
        { method: 'dialog' },
        h('h2', { id: 'dlg-title' }, title),
        body,
        h(
          'div',
          { class: 'dialog-actions' },
          h('button', { value: 'cancel', type: 'submit', formnovalidate: true }, 'Cancel'),
          h('button', { value: 'ok', type: 'submit', class: confirmClass }, confirm),
        ),
      ),
    );
    dialog.addEventListener('close', () => {
      dialog.remove();
      resolve(dialog.returnValue === 'ok');
    });
    document.body.appendChild(dialog);
    dialog.showModal();
  });
}

// A yes/no question; resolves true when confirmed.
export function confirmDialog(opts: { title: string; text: string; confirm: string; danger?: boolean }): Promise<boolean> {
  return ask(opts.title, h('p', null, opts.text), opts.confirm, opts.danger ? 'danger' : 'primary');
}

// One line of text; resolves null when cancelled.
export async function promptDialog(opts: { title: string; label: string; value: string; maxLength: number; confirm: string }): Promise<string | null> {
  const input = h('input', { id: 'dlg-input', type: 'text', value: opts.value, maxlength: opts.maxLength, required: true });
  queueMicrotask(() => input.select());
  const ok = await ask(opts.title, h('div', { class: 'field' }, h('label', { for: 'dlg-input' }, opts.label), input), opts.confirm, 'primary');
  return ok ? input.value.trim() : null;
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
  dialog.addEventListener('close', () => dialog.remove());
  document.body.appendChild(dialog);
  dialog.showModal();
}
