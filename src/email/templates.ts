/**
 * Palisade's mail, as text and HTML from one template per kind. Every value is escaped for HTML;
 * links are shown in full in the text part so a reader can check where they lead before clicking.
 */
export interface RenderedEmail {
  subject: string;
  text: string;
  html: string;
}

const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);

/** Header lines must not carry line breaks (a name with CR/LF would inject headers). */
const oneLine = (s: string): string =>
  s
    .replace(/[\r\n\t]+/g, ' ')
    .trim()
    .slice(0, 200);

interface Block {
  /** Paragraphs before the button. */
  intro: string[];
  action?: { label: string; url: string };
  /** Paragraphs after it: expiry, "if this was not you". */
  outro: string[];
}

function render(subject: string, b: Block): RenderedEmail {
  const text = [...b.intro, ...(b.action ? [`${b.action.label}: ${b.action.url}`] : []), ...b.outro, '— Palisade'].join(
    '\n\n',
  );
  const p = (s: string) => `<p style="margin:0 0 16px">${escapeHtml(s)}</p>`;
  const button = b.action
    ? `<p style="margin:24px 0"><a href="${escapeHtml(b.action.url)}" style="background:#1d4ed8;color:#ffffff;padding:10px 18px;border-radius:4px;text-decoration:none;display:inline-block">${escapeHtml(b.action.label)}</a></p><p style="margin:0 0 16px;font-size:13px;color:#555">Or open this address: ${escapeHtml(b.action.url)}</p>`
    : '';
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(subject)}</title></head><body style="font:15px/1.5 system-ui,sans-serif;color:#1a1a1a;max-width:36rem;margin:0 auto;padding:24px">${b.intro.map(p).join('')}${button}${b.outro.map(p).join('')}<p style="margin:24px 0 0;color:#555">— Palisade</p></body></html>`;
  return { subject: oneLine(subject), text, html };
}

export interface InvitationFacts {
  orgName: string;
  role: string;
  invitedBy: string | null;
  /** Present when the account has no credential yet: the link sets a password and accepts. */
  setupUrl: string | null;
  /** Where a person who already has an account accepts (signed in). */
  acceptUrl: string;
  /** Joined at once (an organization that manages the address added them): a notice, nothing to accept. */
  joined: boolean;
  /** The organization requires SSO: the person joins by signing in at acceptUrl. */
  viaSso: boolean;
  expiresAt: string | null;
}

export function invitationEmail(f: InvitationFacts): RenderedEmail {
  const who = f.invitedBy ? `${f.invitedBy} invited you` : 'You are invited';
  const intro = [`${who} to join ${f.orgName} in Palisade as ${f.role.replace('_', ' ')}.`];
  if (f.joined) {
    return render(`You were added to ${f.orgName} in Palisade`, {
      intro: [
        `${f.invitedBy ? `${f.invitedBy} added you` : 'You were added'} to ${f.orgName} in Palisade as ${f.role.replace('_', ' ')}.`,
        'Sign in with your usual method to use it.',
      ],
      action: { label: 'Sign in', url: f.acceptUrl },
      outro: ['If you did not expect this, tell your administrator.'],
    });
  }
  if (f.viaSso) {
    return render(`You are invited to ${f.orgName} in Palisade`, {
      intro: [...intro, `${f.orgName} signs people in through its single sign-on: sign in there to accept.`],
      action: { label: 'Sign in with single sign-on', url: f.acceptUrl },
      outro: ['If you did not expect this invitation, ignore this message.'],
    });
  }
  if (f.setupUrl) {
    return render(`You are invited to ${f.orgName} in Palisade`, {
      intro: [...intro, 'Choose a password to accept the invitation and sign in.'],
      action: { label: 'Accept and set your password', url: f.setupUrl },
      outro: [
        `This link works once${f.expiresAt ? ` and expires at ${f.expiresAt}` : ''}. If you did not expect this invitation, ignore this message: nothing happens until you open the link.`,
      ],
    });
  }
  return render(`You are invited to ${f.orgName} in Palisade`, {
    intro: [...intro, 'Sign in to Palisade with your usual method, then accept or decline the invitation.'],
    action: { label: 'Review the invitation', url: f.acceptUrl },
    outro: ['You join only if you accept. If you did not expect this invitation, decline it or ignore this message.'],
  });
}

export function passwordResetEmail(f: { url: string; expiresAt: string }): RenderedEmail {
  return render('Reset your Palisade password', {
    intro: [
      'Someone asked to reset the password of the Palisade account for this address. If it was you, choose a new password:',
    ],
    action: { label: 'Choose a new password', url: f.url },
    outro: [
      `This link works once and expires at ${f.expiresAt}. Setting a new password signs you out everywhere else and revokes your API tokens and gateway keys.`,
      'If you did not ask for this, ignore this message: your password stays as it is.',
    ],
  });
}

export function passwordResetUnavailableEmail(f: { reason: string }): RenderedEmail {
  return render('About your Palisade password reset', {
    intro: ['Someone asked to reset the password of the Palisade account for this address.', f.reason],
    outro: ['If you did not ask for this, you can ignore this message.'],
  });
}

export function verifyEmailEmail(f: { url: string; expiresAt: string }): RenderedEmail {
  return render('Confirm your email address for Palisade', {
    intro: [
      "Confirm that this address is yours. Palisade needs it before you can accept invitations or join your company's organization automatically.",
    ],
    action: { label: 'Confirm this address', url: f.url },
    outro: [`This link works once and expires at ${f.expiresAt}. If you did not ask for it, ignore this message.`],
  });
}

export function passwordChangedEmail(f: { at: string; via: string }): RenderedEmail {
  return render('Your Palisade password was changed', {
    intro: [`The password of your Palisade account was changed at ${f.at} (${f.via}). Your other sessions were ended.`],
    outro: [
      'If this was not you, reset your password now with "Forgot password" on the sign-in page and tell your administrator.',
    ],
  });
}

export function testEmail(f: { publicUrl: string }): RenderedEmail {
  return render('Palisade test message', {
    intro: [`This is a test message from the Palisade installation at ${f.publicUrl}. Mail delivery works.`],
    outro: [],
  });
}

/** A notification (src/notifications/): the facts one per line, the fix, and every link shown in full. */
export function notificationEmail(f: {
  subject: string;
  lead: string;
  facts: [string, string][];
  fix: string;
  links: { label: string; url: string }[];
  footer: string;
}): RenderedEmail {
  const [first, ...rest] = f.links;
  return render(f.subject, {
    intro: [f.lead, ...f.facts.map(([k, v]) => `${k}: ${v}`), `What to do: ${f.fix}`],
    ...(first ? { action: first } : {}),
    outro: [...rest.map((l) => `${l.label}: ${l.url}`), f.footer],
  });
}

/** A daily digest of notifications: one line each, and where to read them in full. */
export function notificationDigestEmail(f: { orgLabel: string; lines: string[]; historyUrl: string }): RenderedEmail {
  return render(`[Palisade] Daily digest: ${f.lines.length} notification${f.lines.length === 1 ? '' : 's'}`, {
    intro: [`What happened in ${f.orgLabel} since the last digest:`, ...f.lines],
    action: { label: 'All notifications, with their facts and fixes', url: f.historyUrl },
    outro: ['Warnings and critical notifications are not held for the digest: they were sent when they happened.'],
  });
}
