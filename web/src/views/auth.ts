// Sign in, register, confirm the e-mail code, and reset a password.

import { ApiError, describeError, type Api } from '../api';
import { h, replaceChildren } from '../dom';
import type { Route } from '../router';
import type { TokenPair, User } from '../types';

type Navigate = (route: Route, notice?: string) => void;

interface Field {
  name: string;
  label: string;
  type: string;
  autocomplete: string;
  value?: string;
  hint?: string;
  extra?: Record<string, string | number | boolean>;
}

// A form with labelled fields, one error region and a submit button that is disabled while
// the request runs. `submit` returns nothing on success or throws an ApiError.
function authForm(opts: {
  title: string;
  intro?: string;
  notice?: string;
  fields: Field[];
  submitLabel: string;
  submit: (values: Record<string, string>) => Promise<void>;
  footer?: Node[];
}): HTMLElement {
  const error = h('p', { class: 'form-error', role: 'alert', hidden: true });
  const inputs = opts.fields.map((f) => {
    const id = `f-${f.name}`;
    const input = h('input', {
      id,
      name: f.name,
      type: f.type,
      autocomplete: f.autocomplete,
      required: true,
      value: f.value ?? '',
      'aria-describedby': f.hint ? `${id}-hint` : undefined,
      ...f.extra,
    });
    return {
      field: f,
      input,
      node: h(
        'div',
        { class: 'field' },
        h('label', { for: id }, f.label),
        input,
        f.hint ? h('small', { id: `${id}-hint`, class: 'hint' }, f.hint) : null,
      ),
    };
  });
  const button = h('button', { type: 'submit', class: 'primary wide' }, opts.submitLabel);
  const form = h(
    'form',
    { class: 'auth-card', novalidate: true },
    h('h1', null, opts.title),
    opts.intro ? h('p', { class: 'muted' }, opts.intro) : null,
    opts.notice ? h('p', { class: 'form-notice', role: 'status' }, opts.notice) : null,
    inputs.map((i) => i.node),
    error,
    button,
    opts.footer ? h('div', { class: 'auth-links' }, opts.footer) : null,
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    for (const { input } of inputs) input.removeAttribute('aria-invalid');
    const invalid = inputs.find(({ input }) => !input.checkValidity());
    if (invalid) {
      invalid.input.setAttribute('aria-invalid', 'true');
      error.textContent = `${invalid.field.label}: ${invalid.input.validationMessage}`;
      error.hidden = false;
      invalid.input.focus();
      return;
    }
    const values: Record<string, string> = {};
    for (const { field, input } of inputs) values[field.name] = input.value;
    button.disabled = true;
    error.hidden = true;
    opts
      .submit(values)
      .catch((err: unknown) => {
        error.textContent = describeError(err);
        error.hidden = false;
        const field = err instanceof ApiError ? err.field : undefined;
        const target = inputs.find((i) => i.field.name === field) ?? inputs[0];
        target?.input.setAttribute('aria-invalid', 'true');
        target?.input.focus();
      })
      .finally(() => {
        button.disabled = false;
      });
  });
  queueMicrotask(() => (inputs.find((i) => !i.input.value) ?? inputs[0])?.input.focus());
  return form;
}

const link = (navigate: Navigate, route: Route, text: string): HTMLAnchorElement =>
  h('a', { href: route.name === 'home' ? '/' : `/${route.name}`, onclick: (e: Event) => (e.preventDefault(), navigate(route)) }, text);

const PASSWORD_HINT = '8 to 128 characters.';
const CODE_FIELD: Field = {
  name: 'code',
  label: '6-digit code',
  type: 'text',
  autocomplete: 'one-time-code',
  extra: { inputmode: 'numeric', pattern: '[0-9]{6}', maxlength: 6 },
};

export function renderAuth(root: HTMLElement, api: Api, route: Route, navigate: Navigate, notice?: string): void {
  // The session's listener (main.ts) opens the app.
  const signedIn = (pair: TokenPair) => api.session.set(pair);
  let form: HTMLElement;
  switch (route.name) {
    case 'register':
      form = authForm({
        title: 'Create your account',
        intro: 'Shape art concepts and image prompts with an AI studio partner.',
        notice,
        fields: [
          { name: 'display_name', label: 'Name (optional)', type: 'text', autocomplete: 'name', extra: { required: false, maxlength: 100 } },
          { name: 'email', label: 'E-mail', type: 'email', autocomplete: 'email' },
          { name: 'password', label: 'Password', type: 'password', autocomplete: 'new-password', hint: PASSWORD_HINT, extra: { minlength: 8, maxlength: 128 } },
        ],
        submitLabel: 'Create account',
        submit: async (v) => {
          const body: Record<string, string> = { email: v.email!, password: v.password! };
          if (v.display_name?.trim()) body.display_name = v.display_name.trim();
          const { user } = await api.json<{ user: User }>('POST', '/api/auth/register', { body, auth: false });
          navigate({ name: 'verify', email: user.email }, `We sent a 6-digit code to ${user.email}.`);
        },
        footer: [h('span', null, 'Already have an account? '), link(navigate, { name: 'login' }, 'Sign in')],
      });
      break;
    case 'verify': {
      const resend = h('button', { type: 'button', class: 'link' }, 'Send a new code');
      form = authForm({
        title: 'Confirm your e-mail',
        intro: 'Enter the 6-digit code from the e-mail we sent you. It is valid for 10 minutes.',
        notice,
        fields: [{ name: 'email', label: 'E-mail', type: 'email', autocomplete: 'email', value: route.email }, CODE_FIELD],
        submitLabel: 'Confirm',
        submit: async (v) => signedIn(await api.json<TokenPair>('POST', '/api/auth/verify', { body: { email: v.email, code: v.code }, auth: false })),
        footer: [resend, link(navigate, { name: 'login' }, 'Back to sign in')],
      });
      resend.addEventListener('click', () => {
        const email = (form.querySelector('#f-email') as HTMLInputElement).value.trim();
        if (!email) return;
        resend.disabled = true;
        void api
          .json('POST', '/api/auth/otp', { body: { email, purpose: 'verify_email' }, auth: false })
          .then(() => (resend.textContent = 'Code sent — check your inbox'))
          .catch((e: unknown) => (resend.textContent = describeError(e)))
          .finally(() => setTimeout(() => ((resend.disabled = false), (resend.textContent = 'Send a new code')), 60_000));
      });
      break;
    }
    case 'forgot':
      form = authForm({
        title: 'Reset your password',
        intro: 'We will e-mail you a 6-digit code to set a new password.',
        notice,
        fields: [{ name: 'email', label: 'E-mail', type: 'email', autocomplete: 'email' }],
        submitLabel: 'Send code',
        submit: async (v) => {
          const email = v.email!.trim().toLowerCase();
          await api.json('POST', '/api/auth/otp', { body: { email, purpose: 'reset_password' }, auth: false });
          navigate({ name: 'reset', email }, `If an account exists for ${email}, a code is on its way.`);
        },
        footer: [link(navigate, { name: 'login' }, 'Back to sign in')],
      });
      break;
    case 'reset':
      form = authForm({
        title: 'Choose a new password',
        notice,
        fields: [
          { name: 'email', label: 'E-mail', type: 'email', autocomplete: 'email', value: route.email },
          CODE_FIELD,
          { name: 'new_password', label: 'New password', type: 'password', autocomplete: 'new-password', hint: PASSWORD_HINT, extra: { minlength: 8, maxlength: 128 } },
        ],
        submitLabel: 'Set password',
        submit: async (v) => {
          await api.json('POST', '/api/auth/password/reset', { body: { email: v.email, code: v.code, new_password: v.new_password }, auth: false });
          navigate({ name: 'login' }, 'Your password has been changed. Sign in with the new one.');
        },
        footer: [link(navigate, { name: 'login' }, 'Back to sign in')],
      });
      break;
    default:
      form = authForm({
        title: 'Sign in to Atelier',
        notice,
        fields: [
          { name: 'email', label: 'E-mail', type: 'email', autocomplete: 'email' },
          { name: 'password', label: 'Password', type: 'password', autocomplete: 'current-password' },
        ],
        submitLabel: 'Sign in',
        submit: async (v) => {
          try {
            signedIn(await api.json<TokenPair>('POST', '/api/auth/login', { body: { email: v.email, password: v.password }, auth: false }));
          } catch (e) {
            if (e instanceof ApiError && e.code === 'email_not_verified') {
              const email = v.email!.trim().toLowerCase();
              await api.json('POST', '/api/auth/otp', { body: { email, purpose: 'verify_email' }, auth: false }).catch(() => undefined);
              navigate({ name: 'verify', email }, 'Confirm your e-mail first: we sent you a new code.');
              return;
            }
            throw e;
          }
        },
        footer: [
          link(navigate, { name: 'forgot' }, 'Forgot your password?'),
          h('span', null, 'New here? ', link(navigate, { name: 'register' }, 'Create an account')),
        ],
      });
  }
  replaceChildren(root, h('main', { class: 'auth-page' }, h('div', { class: 'brand brand-large' }, 'Atelier'), form));
}
