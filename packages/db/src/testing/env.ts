/**
 * The one read of the environment by the test helpers: tests use DATABASE_URL's server when it is set
 * (CI and developers point it where they like), else the local PostgreSQL, else an embedded one.
 */
export const TEST_ENV = {
  DATABASE_URL: process.env.DATABASE_URL,
  /** `embedded` runs the tests on in-memory PGlite even where a server is reachable (to try that path). */
  TEST_DATABASE: process.env.TEST_DATABASE,
} as const;
