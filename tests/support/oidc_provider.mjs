// A real OpenID Connect provider for the tests: the npm package `oidc-provider`.
//
// Usage: node oidc_provider.mjs CONFIG.json
// CONFIG: {"port": 0000, "modules": "<dir with node_modules>", "jwks": {"keys": [...]},
//          "clients": [{"client_id", "client_secret", "redirect_uris": [...]}]}
//
// Dev interactions accept any login name and password; the login name is the e-mail
// address and the subject. Names starting with "unverified" get email_verified=false.
// PKCE (S256) is required; consent is granted without a prompt. Prints
// "READY <issuer>" once it listens on 127.0.0.1.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const entry = join(config.modules, 'node_modules', 'oidc-provider', 'lib', 'index.js');
const { default: Provider } = await import(pathToFileURL(entry).href);

const issuer = `http://127.0.0.1:${config.port}`;
const SCOPE = 'openid email profile';

const provider = new Provider(issuer, {
  clients: config.clients.map((client) => ({
    client_id: client.client_id,
    client_secret: client.client_secret,
    redirect_uris: client.redirect_uris,
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  })),
  jwks: config.jwks,
  cookies: {
    keys: ['scalemark-tests-only-cookie-key'],
    // Plain http on 127.0.0.1: SameSite=None cookies would need Secure.
    long: { httpOnly: true, sameSite: 'lax' },
    short: { httpOnly: true, sameSite: 'lax' },
  },
  pkce: { methods: ['S256'], required: () => true },
  features: { devInteractions: { enabled: true } },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name'],
  },
  // Put the e-mail claims into the ID token, not only into UserInfo.
  conformIdTokenClaims: false,
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        return {
          sub: id,
          email: id,
          email_verified: !id.startsWith('unverified'),
          name: id.split('@')[0],
        };
      },
    };
  },
  // First-party test clients: no consent screen.
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) {
      const existing = await ctx.oidc.provider.Grant.find(grantId);
      if (existing) return existing;
    }
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope(SCOPE);
    grant.addOIDCClaims(['email', 'email_verified', 'name']);
    await grant.save();
    return grant;
  },
  ttl: {
    AccessToken: 600,
    AuthorizationCode: 60,
    IdToken: 600,
    Grant: 3600,
    Interaction: 600,
    Session: 3600,
  },
});

provider.on('server_error', (ctx, error) => console.error('server_error', error));
provider.listen(config.port, '127.0.0.1', () => {
  console.log(`READY ${issuer}`);
});
