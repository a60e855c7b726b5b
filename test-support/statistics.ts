/** Rank statistics for the tests: the simulator's own implementation, so both measure alike. */
export { ranks, spearman } from '../loadtests/src/rank-statistics.js';
