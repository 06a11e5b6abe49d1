'use strict';

// common.cjs holds what v6/provider.js (oidc-provider 6.31.1, CommonJS) and
// v9/provider.mjs (oidc-provider 9.x, ESM) share: configuration, output,
// keys, the HTTP server start-up, the version-independent parts of the
// provider configuration and the event listeners. It is CommonJS so that
// both can load it (require in v6, import in v9).
//
// It must never require('oidc-provider'): each version's node_modules lives
// in its own folder, and this file sits beside them. Everything that depends
// on the library's API stays in the version's script. It has no npm
// dependencies, so `npm ci` in v6/ and v9/ is unaffected.
//
// Configuration is one JSON object, taken from the first command-line argument
// or else from the OP_CONFIG environment variable:
//
//   {
//     "host": "127.0.0.1",        // listen address and issuer host (default 127.0.0.1)
//     "port": 0,                  // 0 picks a free port
//     "account": "alice",         // account logged in by the automatic login (default "alice");
//                                 // a login_hint on the authorization request overrides it
//     "logout": "all",            // RP-initiated logout prompt answer: "all" ends the OP session
//                                 // and notifies every client; "client" logs out only the
//                                 // requesting client
//     "clients": [ { ...oidc-provider client metadata (snake_case)... } ]
//   }
//
// Output on stdout, one line each:
//
//   READY <issuer>                 once the server listens
//   EVENT <json>                   for every event the Go harness may assert on:
//                                  {"event":"backchannel.success","client_id","sid","account"}
//                                  {"event":"backchannel.error","client_id","sid","account","error"}
//                                  {"event":"end_session.success"}, {"event":"login","account"},
//                                  {"event":"consent","client_id"}, {"event":"error",...},
//                                  and from v6 {"event":"frontchannel.frames","frames"}
//                                  (the front-channel logout URLs rendered)
//
// Interactions have no UI: GET /interaction/<uid> logs the account in, or
// grants every requested scope and claim, and redirects back to the
// authorization endpoint (each version's interaction function). The logout
// prompt (features.rpInitiatedLogout.logoutSource, below) renders the OP's
// form with the answer already filled in and submits it on load, so a
// browser passes through it and an HTTP client without JavaScript can POST
// the form as is.

const crypto = require('crypto');
const http = require('http');

function readConfig() {
  const raw = process.argv[2] || process.env.OP_CONFIG || '{}';
  const cfg = JSON.parse(raw);
  return {
    host: cfg.host || '127.0.0.1',
    port: Number(cfg.port ?? 0),
    account: cfg.account || 'alice',
    logout: cfg.logout || 'all',
    clients: cfg.clients ?? [],
  };
}

function emit(event, fields = {}) {
  process.stdout.write(`EVENT ${JSON.stringify({ event, ...fields })}\n`);
}

function htmlEscape(s) {
  return String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function signingKeys() {
  const rsa = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
  const ec = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
  return [
    { ...rsa, kid: `rsa-${crypto.randomUUID()}`, use: 'sig', alg: 'RS256' },
    { ...ec, kid: `ec-${crypto.randomUUID()}`, use: 'sig', alg: 'ES256' },
  ];
}

// serve starts the HTTP server. The issuer contains the port, so listen
// first and build the provider after: until then every request gets 503.
// opts, all supplied by the version's script:
//
//   newProvider(issuer)             returns the oidc-provider instance
//   callback(provider)              returns its (req, res) request handler
//                                   (a property in 6.x, a method in 9.x)
//   interaction(provider, req, res) finishes the prompt of GET /interaction/<uid>
//   route(req, res)                 optional; handles a request before the
//                                   others and returns true, or returns false
//
// It prints "READY <issuer>" once the provider is ready.
function serve(cfg, opts) {
  let handler = (req, res) => { res.statusCode = 503; res.end(); };
  const server = http.createServer((req, res) => handler(req, res));
  server.listen(cfg.port, cfg.host, () => {
    const { port } = server.address();
    const host = cfg.host.includes(':') ? `[${cfg.host}]` : cfg.host;
    const issuer = `http://${host}:${port}`;
    const provider = opts.newProvider(issuer);
    const callback = opts.callback(provider);
    handler = (req, res) => {
      if (opts.route && opts.route(req, res)) {
        return;
      }
      if (req.method === 'GET' && req.url.startsWith('/interaction/')) {
        opts.interaction(provider, req, res).catch((err) => {
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
  return server;
}

// baseConfiguration returns the provider configuration options both versions
// share; each version spreads it into its own configuration.
function baseConfiguration(cfg) {
  return {
    clients: cfg.clients,
    jwks: { keys: signingKeys() },
    // sid is published as a supported claim; the ID token carries it for
    // clients registered with backchannel_logout_session_required (or that
    // request it with the claims parameter).
    claims: { openid: ['sub'], sid: null, email: ['email', 'email_verified'] },
    scopes: ['openid', 'email', 'offline_access'],
    async findAccount(ctx, id) {
      return {
        accountId: id,
        async claims() { return { sub: id, email: `${id}@example.test`, email_verified: true }; },
      };
    },
    async renderError(ctx, out, error) {
      emit('error', { where: 'render', error: String(error), out });
      ctx.type = 'html';
      ctx.body = `<!DOCTYPE html><html><head><title>OP error</title></head><body><pre id="error">${htmlEscape(JSON.stringify(out))}</pre></body></html>`;
    },
  };
}

// rpInitiatedLogout is features.rpInitiatedLogout: the logout prompt submits
// itself with the configured answer (see the file comment).
function rpInitiatedLogout(cfg) {
  return {
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
  };
}

// reportEvents turns the provider's events into EVENT lines.
function reportEvents(provider) {
  provider.on('backchannel.success', (ctx, client, accountId, sid) => {
    emit('backchannel.success', { client_id: client.clientId, sid, account: accountId });
  });
  provider.on('backchannel.error', (ctx, err, client, accountId, sid) => {
    emit('backchannel.error', { client_id: client.clientId, sid, account: accountId, error: String(err) });
  });
  provider.on('end_session.success', () => emit('end_session.success'));
  provider.on('server_error', (ctx, err) => emit('error', { where: 'server', error: String(err) }));
}

// exitOnSignals ends the process cleanly when the Go harness stops it.
function exitOnSignals() {
  for (const sig of ['SIGINT', 'SIGTERM']) {
    process.on(sig, () => process.exit(0));
  }
}

module.exports = {
  readConfig,
  emit,
  htmlEscape,
  signingKeys,
  serve,
  baseConfiguration,
  rpInitiatedLogout,
  reportEvents,
  exitOnSignals,
};
