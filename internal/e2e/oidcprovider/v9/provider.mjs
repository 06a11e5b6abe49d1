// provider.mjs runs node oidc-provider 9.x on loopback for slo's interop tests.
//
// The configuration (one JSON object from the first command-line argument or
// OP_CONFIG), the READY and EVENT lines on stdout, the HTTP server start-up,
// the self-submitting logout prompt and the rest of the code shared with
// ../v6/provider.js are in ../common.cjs, which documents them.
//
// Interactions have no UI: GET /interaction/<uid> logs the account in, or
// grants every requested scope and claim (as a Grant), and redirects back to
// the authorization endpoint.
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

import Provider from 'oidc-provider';

import {
  readConfig, emit, serve, baseConfiguration, rpInitiatedLogout, reportEvents, exitOnSignals,
} from '../common.cjs';

const cfg = readConfig();

serve(cfg, {
  newProvider,
  callback: (provider) => provider.callback(),
  interaction,
});

function newProvider(issuer) {
  const provider = new Provider(issuer, {
    ...baseConfiguration(cfg),
    cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
    pkce: { required: () => false },
    ttl: {
      Interaction: 600, Session: 3600, Grant: 3600, IdToken: 3600, AccessToken: 3600, AuthorizationCode: 60,
    },
    features: {
      devInteractions: { enabled: false },
      backchannelLogout: { enabled: true },
      rpInitiatedLogout: rpInitiatedLogout(cfg),
    },
    // Allow back-channel logout calls to the tests' loopback apps (see the
    // file comment): drop the special-use-address dispatcher.
    fetch(url, options) {
      const { dispatcher, ...rest } = options; // eslint-disable-line no-unused-vars
      return globalThis.fetch(url, rest);
    },
  });

  reportEvents(provider);
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

exitOnSignals();
