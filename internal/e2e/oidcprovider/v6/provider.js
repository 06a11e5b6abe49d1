'use strict';

// provider.js runs node oidc-provider 6.31.1 on loopback for slo's interop
// tests: front-channel logout (draft 04), session management (draft 30) and
// back-channel logout (draft 06, whose logout tokens carry typ "JWT" and no
// exp). oidc-provider 6.x is CommonJS, hence .js and require.
//
// Configuration, output and the code shared with ../v9/provider.mjs are in
// ../common.cjs:
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

const { Provider } = require('oidc-provider');

const {
  readConfig, emit, htmlEscape, serve, baseConfiguration, rpInitiatedLogout, reportEvents, exitOnSignals,
} = require('../common.cjs');

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

// serveJSSHA serves the pinned jsSHA the rewritten page loads.
function serveJSSHA(req, res) {
  if (req.method === 'GET' && req.url === JSSHA_PATH) {
    res.setHeader('Content-Type', 'application/javascript; charset=utf-8');
    res.end(jsSHA);
    return true;
  }
  return false;
}

serve(cfg, {
  newProvider,
  callback: (provider) => provider.callback,
  interaction,
  route: serveJSSHA,
});

function newProvider(issuer) {
  const provider = new Provider(issuer, {
    ...baseConfiguration(cfg),
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
      rpInitiatedLogout: rpInitiatedLogout(cfg),
    },
  });

  provider.use(offlineCheckSession);
  reportEvents(provider);
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

exitOnSignals();
