import type { FastifyInstance } from 'fastify';

/**
 * Minimal pages for the first minutes with Palisade: redeeming the setup or invitation link and
 * signing in. The full admin console is its own Vite build (src/web/console.ts); these work without it.
 */
const shell = (title: string, body: string, script: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${title} · Palisade</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:28rem;margin:4rem auto;padding:0 1rem;color:#1a1a1a}
label{display:block;margin:.8rem 0 .2rem}input{width:100%;padding:.5rem;font:inherit;box-sizing:border-box}
button{margin-top:1rem;padding:.55rem 1.2rem;font:inherit;cursor:pointer}
#msg{margin-top:1rem}.err{color:#b00020}.ok{color:#0a6b2b}code{background:#f3f3f3;padding:0 .2rem}</style></head>
<body><h1>${title}</h1>${body}<p id="msg" role="status"></p>
<script>
const msg=(t,c)=>{const m=document.getElementById('msg');m.textContent=t;m.className=c};
async function call(path,body){const r=await fetch(path,{method:'POST',headers:{'content-type':'application/json'},body:JSON.stringify(body),credentials:'same-origin'});
const j=r.status===204?{}:await r.json();if(!r.ok)throw new Error(j.error?j.error.message+' (reference '+j.error.requestId+')':'HTTP '+r.status);return j}
${script}
</script></body></html>`;

const passwordPage = (title: string, intro: string) =>
  shell(
    title,
    `<p>${intro} It must have at least 12 characters.</p>
<form id="f"><label for="p1">New password</label><input id="p1" type="password" autocomplete="new-password" minlength="12" required>
<label for="p2">Repeat it</label><input id="p2" type="password" autocomplete="new-password" minlength="12" required>
<button type="submit">Set password and sign in</button></form>`,
    `const token=new URLSearchParams(location.hash.slice(1)).get('token');
if(!token)msg('This page needs the link from your email (or from palisade init); the link looks like '+location.pathname+'#token=pls_lnk_…','err');
document.getElementById('f').addEventListener('submit',async e=>{e.preventDefault();
const p1=document.getElementById('p1').value,p2=document.getElementById('p2').value;
if(p1!==p2)return msg('The two passwords differ; type the same password twice.','err');
try{const r=await call('/api/v1/auth/setup-password',{token,password:p1});history.replaceState(null,'',location.pathname);
msg('Password set. You are signed in as '+r.user.email+'; your other sessions were ended. The admin console is at / (pending invitations: /invitations; the API is documented at /docs).','ok')}catch(err){msg(err.message,'err')}});`,
  );

const setupPage = passwordPage('Set your password', 'Choose a password for your Palisade account.');
const resetPage = passwordPage(
  'Choose a new password',
  'Choose a new password for your Palisade account. Setting it signs you out everywhere else and revokes your API tokens and gateway keys.',
);

const verifyPage = shell(
  'Confirm your email address',
  `<p>Confirming proves this address is yours.</p><button id="b" type="button">Confirm</button>`,
  `const token=new URLSearchParams(location.hash.slice(1)).get('token');
if(!token)msg('This page needs the link from your verification email.','err');
document.getElementById('b').addEventListener('click',async()=>{try{const r=await call('/api/v1/auth/verify-email',{token});history.replaceState(null,'',location.pathname);
msg('Confirmed: '+r.user.email+' is yours.'+(r.joinedOrgId?' You joined your company\'s organization.':'')+' You can now accept invitations at /invitations.','ok')}catch(err){msg(err.message,'err')}});`,
);

const forgotPage = shell(
  'Forgot your password?',
  `<p>Enter your email address. If it has a Palisade account, a link to choose a new password is sent there.</p>
<form id="f"><label for="e">Email</label><input id="e" type="email" autocomplete="username" required><button type="submit">Send the link</button></form>`,
  `document.getElementById('f').addEventListener('submit',async e=>{e.preventDefault();
try{const r=await call('/api/v1/auth/password-reset',{email:document.getElementById('e').value});msg(r.message,'ok')}catch(err){msg(err.message,'err')}});`,
);

const invitationsPage = shell(
  'Invitations',
  `<p>Organizations that invited you. You join only the ones you accept.</p><ul id="list"></ul><p><button id="v" type="button" hidden>Send verification email</button></p>`,
  `const list=document.getElementById('list'),v=document.getElementById('v');
let csrf=null;
async function post(path,body){const r=await fetch(path,{method:'POST',headers:{'content-type':'application/json','x-csrf-token':csrf||''},body:JSON.stringify(body||{}),credentials:'same-origin'});
const j=r.status===204?{}:await r.json();if(!r.ok){const e=new Error(j.error?j.error.message+' (reference '+j.error.requestId+')':'HTTP '+r.status);e.code=j.error&&j.error.code;throw e}return j}
async function load(){const s=await fetch('/api/v1/auth/session',{credentials:'same-origin'});if(!s.ok){msg('Sign in first at /login, then come back to this page.','err');return}
const me=await s.json();csrf=me.csrfToken;v.hidden=me.user.emailVerified;
const r=await fetch('/api/v1/me/invitations',{credentials:'same-origin'});const d=await r.json();list.textContent='';
if(!d.data.length){msg('You have no pending invitations.','ok');return}
for(const i of d.data){const li=document.createElement('li');li.textContent=i.orgName+' as '+i.role.replace('_',' ')+(i.invitedBy?' (invited by '+i.invitedBy+')':'')+' ';
for(const [label,action] of [['Accept','accept'],['Decline','decline']]){const b=document.createElement('button');b.type='button';b.textContent=label;
b.addEventListener('click',async()=>{try{await post('/api/v1/me/invitations/'+encodeURIComponent(i.membershipId)+'/'+action);msg((action==='accept'?'You joined ':'You declined ')+i.orgName+'.','ok');load()}catch(err){msg(err.message,'err');if(err.code==='email_unverified')v.hidden=false}});li.appendChild(b)}
list.appendChild(li)}}
v.addEventListener('click',async()=>{try{const r=await post('/api/v1/me/email-verification');msg(r.alreadyVerified?'Your address is already confirmed.':'A confirmation link was sent to '+r.sentTo+'.','ok')}catch(err){msg(err.message,'err')}});
load();`,
);

export const loginPage = shell(
  'Sign in',
  `<form id="f"><label for="e">Email</label><input id="e" type="email" autocomplete="username" required>
<div id="sso"></div>
<div id="pw"><label for="p">Password</label><input id="p" type="password" autocomplete="current-password">
<button type="submit">Sign in</button></div></form><p><a href="/forgot-password">Forgot your password?</a></p>`,
  `const email=document.getElementById('e'),sso=document.getElementById('sso'),pw=document.getElementById('pw');
// Discovery: a verified company domain sends people to their organization's SSO.
email.addEventListener('change',async()=>{sso.textContent='';pw.hidden=false;
if(!email.value.includes('@'))return;
const r=await fetch('/api/v1/login/discover?email='+encodeURIComponent(email.value));
if(r.status===429){msg((await r.json()).error.message,'err');return}if(!r.ok)return;
const d=await r.json();const ssoMethods=d.methods.filter(m=>m.type==='sso');if(!d.organization&&!ssoMethods.length)return;
for(const m of ssoMethods){const a=document.createElement('a');a.href=m.startUrl;a.textContent='Continue with '+(m.name?m.name+(d.organization?' ('+d.organization.name+')':''):'single sign-on');
const p=document.createElement('p');p.appendChild(a);sso.appendChild(p)}
pw.hidden=!d.methods.some(m=>m.type==='password');if(pw.hidden)msg((d.organization?d.organization.name:'This account')+' signs in through single sign-on.','ok')});
if(new URLSearchParams(location.search).get('sso_notice')==='email_changed')msg('Your identity provider now uses a new email address for you; your Palisade account was updated to it (same account, same access).','ok');
document.getElementById('f').addEventListener('submit',async e=>{e.preventDefault();
try{const r=await call('/api/v1/auth/login',{email:email.value,password:document.getElementById('p').value});
msg('Signed in as '+r.user.email+'. The API is documented at /docs.','ok')}catch(err){msg(err.message,'err')}});`,
);

const recoverPage = shell(
  'Sign in with a recovery link',
  `<p>A primary owner of your organization gave you this link because single sign-on does not let you in. It opens one short session, sets no password, and is recorded in the audit log.</p>
<button id="go" type="button">Sign in</button>`,
  `const token=new URLSearchParams(location.hash.slice(1)).get('token');
if(!token)msg('This page needs the recovery link a primary owner gave you; it looks like /sso/recover#token=pls_rcv_…','err');
document.getElementById('go').addEventListener('click',async()=>{try{const r=await call('/api/v1/sso/recovery',{token});history.replaceState(null,'','/sso/recover');
msg('Signed in as '+r.user.email+' until '+r.expiresAt+'. Fix what locked you out (the API is documented at /docs).','ok')}catch(err){msg(err.message,'err')}});`,
);

export async function pageRoutes(app: FastifyInstance): Promise<void> {
  const send = (html: string) => async (_req: unknown, reply: import('fastify').FastifyReply) =>
    reply
      .type('text/html; charset=utf-8')
      .header(
        'content-security-policy',
        "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; frame-ancestors 'none'",
      )
      .header('referrer-policy', 'no-referrer')
      .send(html);
  app.get('/setup', { schema: { hide: true } }, send(setupPage));
  app.get('/reset-password', { schema: { hide: true } }, send(resetPage));
  app.get('/verify-email', { schema: { hide: true } }, send(verifyPage));
  app.get('/forgot-password', { schema: { hide: true } }, send(forgotPage));
  app.get('/invitations', { schema: { hide: true } }, send(invitationsPage));
  app.get('/login', { schema: { hide: true } }, send(loginPage));
  app.get('/sso/recover', { schema: { hide: true } }, send(recoverPage));
}
