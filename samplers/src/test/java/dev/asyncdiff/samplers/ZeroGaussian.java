package dev.asyncdiff.samplers;

import java.util.random.RandomGenerator;

/** A generator whose Gaussian draws are all 0: it isolates the deterministic part of a stochastic step. */
final class ZeroGaussian implements RandomGenerator {
    @Override
    public long nextLong() {
        return 0;
    }

    @Override
    public double nextGaussian() {
        return 0.0;
    }
}
