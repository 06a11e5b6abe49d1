// provider.mjs runs node oidc-provider 9.x on loopback for slo's interop tests.
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
//                                  {"event":"consent","client_id"}, {"event":"error",...}
//
// Interactions have no UI: GET /interaction/<uid> logs the account in, or
// grants every requested scope and claim, and redirects back to the
// authorization endpoint. The logout prompt (features.rpInitiatedLogout.
// logoutSource) renders the OP's form with the answer already filled in and
// submits it on load, so a browser passes through it and an HTTP client
// without JavaScript can POST the form as is.
//
// Loopback back-channel calls: in recent 9.x releases (9.7.0 already, and
// the pinned 9.13.3) every outgoing request of oidc-provider (back-channel
// logout, sector_identifier_uri, jwks_uri, client metadata documents) goes
// through an undici dispatcher that destroys connections to special-use
// addresses (127.0.0.0/8, ::1, RFC 1918, ...): the back-channel call then
// fails with "hostname resolves to a special-use IP address". The provider
// passes that dispatcher as options.dispatcher to the `fetch` configuration
// option. The tests' apps listen on 127.0.0.1, so `fetch` below removes the
// dispatcher before calling globalThis.fetch. Test use only.

import * as crypto from 'node:crypto';
import * as http from 'node:http';

import Provider from 'oidc-provider';

function readConfig() {
  const raw = process.argv[2] ?? process.env.OP_CONFIG ?? '{}';
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

const cfg = readConfig();

// The issuer contains the port, so listen first and build the provider after.
let handler = (req, res) => { res.statusCode = 503; res.end(); };
const server = http.createServer((req, res) => handler(req, res));
server.listen(cfg.port, cfg.host, () => {
  const { port } = server.address();
  const host = cfg.host.includes(':') ? `[${cfg.host}]` : cfg.host;
  const issuer = `http://${host}:${port}`;
  const provider = newProvider(issuer);
  const callback = provider.callback();
  handler = (req, res) => {
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
    cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
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
    pkce: { required: () => false },
    ttl: {
      Interaction: 600, Session: 3600, Grant: 3600, IdToken: 3600, AccessToken: 3600, AuthorizationCode: 60,
    },
    features: {
      devInteractions: { enabled: false },
      backchannelLogout: { enabled: true },
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
    // Allow back-channel logout calls to the tests' loopback apps (see the
    // file comment): drop the special-use-address dispatcher.
    fetch(url, options) {
      const { dispatcher, ...rest } = options; // eslint-disable-line no-unused-vars
      return globalThis.fetch(url, rest);
    },
  });

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
  const { prompt, params, session } = details;

  if (prompt.name === 'login') {
    const accountId = params.login_hint || cfg.account;
    emit('login', { account: accountId, client_id: params.client_id });
    await provider.interactionFinished(req, res, { login: { accountId } }, { mergeWithLastSubmission: false });
    return;
  }

  if (prompt.name === 'consent') {
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    const d = prompt.details;
    if (d.missingOIDCScope) grant.addOIDCScope(d.missingOIDCScope.join(' '));
    if (d.missingOIDCClaims) grant.addOIDCClaims(d.missingOIDCClaims);
    if (d.missingResourceScopes) {
      for (const [indicator, scopes] of Object.entries(d.missingResourceScopes)) {
        grant.addResourceScope(indicator, scopes.join(' '));
      }
    }
    const grantId = await grant.save();
    emit('consent', { client_id: params.client_id });
    await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
    return;
  }

  throw new Error(`unsupported prompt ${prompt.name}`);
}

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => process.exit(0));
}
