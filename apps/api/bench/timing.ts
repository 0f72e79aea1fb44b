/** Timing helpers of the API's benchmarks (`pnpm bench:api`, `pnpm bench:purge`). */

export const ms = (value: number) => `${value < 10 ? value.toFixed(2) : value.toFixed(1)} ms`;
export const seconds = (value: number) => `${(value / 1000).toFixed(2)} s`;
