import type { FastifyInstance } from 'fastify';

/**
 * Two minimal pages that work without the console's build: the password sign-in (/login, and /sign-in
 * when dist/web is missing) and the SSO recovery link (/sso/recover). The pages links in emails and
 * `palisade init` open (/setup, /reset-password, /verify-email, /invitations, /forgot-password) are
 * console pages (web/src/links/): one implementation under the console's strict CSP, not a second
 * one here that needs 'unsafe-inline' scripts. `npm run build` always builds the console; without it
 * those paths answer the "console not built" page, which names the API call that redeems a link.
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
  app.get('/login', { schema: { hide: true } }, send(loginPage));
  app.get('/sso/recover', { schema: { hide: true } }, send(recoverPage));
}
