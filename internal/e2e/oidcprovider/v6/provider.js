'use strict';

// provider.js runs node oidc-provider 6.31.1 on loopback for slo's interop
// tests: front-channel logout (draft 04), session management (draft 30) and
// back-channel logout (draft 06, whose logout tokens carry typ "JWT" and no
// exp). oidc-provider 6.x is CommonJS, hence .js and require.
//
// Configuration and output are those of ../v9/provider.mjs:
//
//   config: JSON from argv[2] or OP_CONFIG:
//     {"host","port","account","logout":"all"|"client","clients":[...]}
//   stdout: "READY <issuer>", then "EVENT <json>" lines, among them
//     backchannel.success / backchannel.error (client_id, sid, account),
//     frontchannel.frames (frames: the front-channel logout URLs rendered),
//     end_session.success, login, consent, error.
//
// Interactions have no UI (login as the configured account or login_hint,
// consent to everything), and the logout prompt submits itself with the
// configured answer. 6.x makes its back-channel calls with got and has no
// special-use address filter, so loopback apps need no configuration.
//
// The check_session_iframe of 6.x loads jsSHA 2.3.1 from cdnjs and a fetch
// polyfill from polyfill.io. Tests run without Internet access, so the page
// is rewritten: jsSHA comes from this package's pinned jssha 2.3.1 (the same
// file: the page's subresource integrity hash still checks it) and the
// polyfill, which chromium does not need, is dropped.

const crypto = require('crypto');
const fs = require('fs');
const http = require('http');

const { Provider } = require('oidc-provider');

function readConfig() {
  const raw = process.argv[2] || process.env.OP_CONFIG || '{}';
  const cfg = JSON.parse(raw);
  return {
    host: cfg.host || '127.0.0.1',
    port: Number(cfg.port || 0),
    account: cfg.account || 'alice',
    logout: cfg.logout || 'all',
    clients: cfg.clients || [],
  };
}

function emit(event, fields) {
  process.stdout.write(`EVENT ${JSON.stringify({ event, ...(fields || {}) })}\n`);
}

function htmlEscape(s) {
  return String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function signingKeys() {
  const rsa = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
  const ec = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
  return [
    { ...rsa, kid: `rsa-${crypto.randomBytes(8).toString('hex')}`, use: 'sig', alg: 'RS256' },
    { ...ec, kid: `ec-${crypto.randomBytes(8).toString('hex')}`, use: 'sig', alg: 'ES256' },
  ];
}

const cfg = readConfig();

const JSSHA_PATH = '/vendor/jssha-2.3.1/sha256.js';
const jsSHA = fs.readFileSync(require.resolve('jssha/src/sha256.js'));

// offlineCheckSession rewrites the check_session_iframe page (see above).
async function offlineCheckSession(ctx, next) {
  await next();
  if (ctx.method === 'GET' && ctx.path === '/session/check' && typeof ctx.body === 'string') {
    ctx.body = ctx.body
      .replace('https://cdnjs.cloudflare.com/ajax/libs/jsSHA/2.3.1/sha256.js', JSSHA_PATH)
      .replace(/<script[^>]*src="https:\/\/polyfill\.io[^"]*"><\/script>/, '');
  }
}

let handler = (req, res) => { res.statusCode = 503; res.end(); };
const server = http.createServer((req, res) => handler(req, res));
server.listen(cfg.port, cfg.host, () => {
  const { port } = server.address();
  const host = cfg.host.includes(':') ? `[${cfg.host}]` : cfg.host;
  const issuer = `http://${host}:${port}`;
  const provider = newProvider(issuer);
  const callback = provider.callback;
  handler = (req, res) => {
    if (req.method === 'GET' && req.url === JSSHA_PATH) {
      res.setHeader('Content-Type', 'application/javascript; charset=utf-8');
      res.end(jsSHA);
      return;
    }
    if (req.method === 'GET' && req.url.startsWith('/interaction/')) {
      interaction(provider, req, res).catch((err) => {
        emit('error', { where: 'interaction', error: String(err) });
        res.statusCode = 500;
        res.end(String(err));
      });
      return;
    }
    callback(req, res);
  };
  process.stdout.write(`READY ${issuer}\n`);
});

function newProvider(issuer) {
  const provider = new Provider(issuer, {
    clients: cfg.clients,
    jwks: { keys: signingKeys() },
    // The default SameSite=None for long-lived cookies needs Secure, which
    // needs https: chromium drops such cookies on http, and the ".legacy"
    // copy 6.x sets beside them is not cleared at logout, so the
    // check_session_iframe would answer "unchanged" forever. Lax works here
    // because the OP and the apps share the site 127.0.0.1 (ports do not
    // make sites); a check_session_iframe on another site cannot read Lax
    // cookies.
    cookies: {
      keys: [crypto.randomBytes(32).toString('hex')],
      long: { httpOnly: true, overwrite: true, sameSite: 'lax', maxAge: 24 * 60 * 60 * 1000 },
    },
    claims: { openid: ['sub'], sid: null, email: ['email', 'email_verified'] },
    scopes: ['openid', 'email', 'offline_access'],
    async findAccount(ctx, id) {
      return {
        accountId: id,
        async claims() { return { sub: id, email: `${id}@example.test`, email_verified: true }; },
      };
    },
    features: {
      devInteractions: { enabled: false },
      backchannelLogout: { enabled: true, ack: 'draft-06' },
      sessionManagement: { enabled: true, ack: 'draft-30' },
      frontchannelLogout: {
        enabled: true,
        ack: 'draft-04',
        async logoutPendingSource(ctx, frames, postLogoutRedirectUri) {
          emit('frontchannel.frames', { frames });
          ctx.body = `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Logout</title>
<style>iframe{visibility:hidden;position:absolute;left:0;top:0;height:0;width:0;border:none}</style>
</head><body>
${frames.join('')}
<script>
  var loaded = 0;
  function redirect() { window.location.replace(${JSON.stringify(postLogoutRedirectUri)}); }
  Array.prototype.slice.call(document.querySelectorAll('iframe')).forEach(function (el) {
    el.onload = function () { loaded += 1; if (loaded === ${frames.length}) redirect(); };
  });
  setTimeout(redirect, 5000);
</script>
<noscript><a id="continue" href="${htmlEscape(postLogoutRedirectUri)}">Continue</a></noscript>
</body></html>`;
        },
      },
      rpInitiatedLogout: {
        enabled: true,
        async logoutSource(ctx, form) {
          const answer = cfg.logout === 'all' ? '<input type="hidden" name="logout" value="yes"/>' : '';
          const filled = form.replace('</form>', `${answer}<noscript><button type="submit">Continue</button></noscript></form>`);
          ctx.body = `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Logout</title></head>
<body>
${filled}
<script>document.forms[0].submit();</script>
</body></html>`;
        },
        async postLogoutSuccessSource(ctx) {
          ctx.body = '<!DOCTYPE html><html><head><meta charset="utf-8"><title>Signed out</title></head><body><h1>Signed out at the OP</h1></body></html>';
        },
      },
    },
    async renderError(ctx, out, error) {
      emit('error', { where: 'render', error: String(error), out });
      ctx.type = 'html';
      ctx.body = `<!DOCTYPE html><html><head><title>OP error</title></head><body><pre id="error">${htmlEscape(JSON.stringify(out))}</pre></body></html>`;
    },
  });

  provider.use(offlineCheckSession);
  provider.on('backchannel.success', (ctx, client, accountId, sid) => {
    emit('backchannel.success', { client_id: client.clientId, sid, account: accountId });
  });
  provider.on('backchannel.error', (ctx, err, client, accountId, sid) => {
    emit('backchannel.error', { client_id: client.clientId, sid, account: accountId, error: String(err) });
  });
  provider.on('end_session.success', () => emit('end_session.success'));
  provider.on('server_error', (ctx, err) => emit('error', { where: 'server', error: String(err) }));
  return provider;
}

// interaction finishes the pending prompt without a UI.
async function interaction(provider, req, res) {
  const details = await provider.interactionDetails(req, res);
  const { prompt, params } = details;

  if (prompt.name === 'login') {
    const account = params.login_hint || cfg.account;
    emit('login', { account, client_id: params.client_id });
    await provider.interactionFinished(req, res, { login: { account } }, { mergeWithLastSubmission: false });
    return;
  }

  if (prompt.name === 'consent') {
    emit('consent', { client_id: params.client_id });
    await provider.interactionFinished(req, res, { consent: {} }, { mergeWithLastSubmission: true });
    return;
  }

  throw new Error(`unsupported prompt ${prompt.name}`);
}

['SIGINT', 'SIGTERM'].forEach((sig) => process.on(sig, () => process.exit(0)));
