export { SlabArena, type ArenaLease, type ArenaOptions, type ArenaUsage } from './arena.js';
