// Shared by the bandwidth shaders: the contents every buffer is filled with, a hash of
// the element index and a seed, so buffers hold random data (no memory compression can
// shrink them) that the host can recompute for validation. Must match
// probes/gpu/host_values.hpp's fill_word (the host's copy of it).
uint fill_word(uint index, uint seed) {
  uint x = index * 0x9e3779b9u ^ seed;
  x ^= x >> 16;
  x *= 0x7feb352du;
  x ^= x >> 15;
  x *= 0x846ca68bu;
  x ^= x >> 16;
  return x;
}
