// The server config the README documents for a fleet: one user per host, who may publish only its own
// decisions and live bans, read both streams through ordered consumers, and change no stream; an admin
// user makes the streams. Tests start their servers with it.

export const FLEET_TEST_PASSWORD = 'fleet-test-password';

// The permissions of one host's user, as written in nats-server's config.
export function hostPermissions(host: string): string {
  return `{
      publish: {
        allow: [
          "xtban.fleet.decisions.${host}", "xtban.fleet.live.${host}.>",
          "$JS.API.INFO", "$JS.API.STREAM.INFO.XTBAN_FLEET", "$JS.API.STREAM.INFO.XTBAN_FLEET_LIVE",
          "$JS.API.CONSUMER.CREATE.XTBAN_FLEET.>", "$JS.API.CONSUMER.CREATE.XTBAN_FLEET_LIVE.>",
          "$JS.API.CONSUMER.CREATE.XTBAN_FLEET", "$JS.API.CONSUMER.CREATE.XTBAN_FLEET_LIVE",
          "$JS.API.CONSUMER.MSG.NEXT.XTBAN_FLEET.>", "$JS.API.CONSUMER.MSG.NEXT.XTBAN_FLEET_LIVE.>",
          "$JS.API.CONSUMER.INFO.XTBAN_FLEET.>", "$JS.API.CONSUMER.INFO.XTBAN_FLEET_LIVE.>",
          "$JS.API.CONSUMER.DELETE.XTBAN_FLEET.>", "$JS.API.CONSUMER.DELETE.XTBAN_FLEET_LIVE.>"
        ]
      }
      subscribe: { allow: ["_INBOX.>"] }
    }`;
}

// An authorization block with a user per host (password FLEET_TEST_PASSWORD) and an admin.
export function fleetAuthorization(hosts: readonly string[]): string {
  const users = hosts.map((host) => `    { user: "${host}", password: "${FLEET_TEST_PASSWORD}", permissions: ${hostPermissions(host)} }`);
  return `authorization {\n  users: [\n${users.join(',\n')},\n    { user: "admin", password: "${FLEET_TEST_PASSWORD}" }\n  ]\n}\n`;
}
