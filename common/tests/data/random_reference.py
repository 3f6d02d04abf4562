#!/usr/bin/python3
"""Reference values for qkv::Random, computed independently of the C++ code.

SplitMix64 seeding and xoshiro256** as published by Blackman and Vigna
(https://prng.di.unimi.it/), uniforms as (bits >> 11) * 2^-53, normals by Box-Muller in
double precision. Run once; the output is committed as random_reference.json.
    /usr/bin/python3 common/tests/data/random_reference.py > common/tests/data/random_reference.json
"""
import json
import math

MASK = (1 << 64) - 1


def splitmix64(state):
    state = (state + 0x9E3779B97F4A7C15) & MASK
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return state, z ^ (z >> 31)


def rotl(x, k):
    return ((x << k) | (x >> (64 - k))) & MASK


class Xoshiro256StarStar:
    def __init__(self, seed):
        self.s = []
        state = seed
        for _ in range(4):
            state, word = splitmix64(state)
            self.s.append(word)

    def next(self):
        s = self.s
        result = (rotl((s[1] * 5) & MASK, 7) * 9) & MASK
        t = (s[1] << 17) & MASK
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = rotl(s[3], 45)
        return result

    def uniform01(self):
        return (self.next() >> 11) * 2.0**-53

    def normal_pair(self):
        u1 = 1.0 - self.uniform01()
        u2 = self.uniform01()
        radius = math.sqrt(-2.0 * math.log(u1))
        angle = 2.0 * math.pi * u2
        return radius * math.cos(angle), radius * math.sin(angle)


cases = []
for seed in (0, 1, 2024, 2**64 - 1):
    bits = Xoshiro256StarStar(seed)
    uniforms = Xoshiro256StarStar(seed)
    normals = Xoshiro256StarStar(seed)
    normal_values = []
    for _ in range(3):
        normal_values.extend(normals.normal_pair())
    cases.append({
        "seed": str(seed),
        "bits": [str(bits.next()) for _ in range(6)],
        "uniform01": [uniforms.uniform01() for _ in range(6)],
        "normal": normal_values,
    })
print(json.dumps({"cases": cases}, indent=1))
