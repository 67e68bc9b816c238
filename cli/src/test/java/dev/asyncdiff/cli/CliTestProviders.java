package dev.asyncdiff.cli;

import dev.asyncdiff.api.NoiseScheduler;
import dev.asyncdiff.spi.Backend;
import dev.asyncdiff.spi.BackendOptions;
import dev.asyncdiff.spi.BackendProvider;
import dev.asyncdiff.spi.SamplerProvider;

/** Providers registered in the CLI's test resources so that discovery has known entries to list. */
public final class CliTestProviders {
    private CliTestProviders() {
    }

    /** Backend {@code cli-test-backend}, version 1.2.3; the tests only select it, never open it. */
    public static final class TestBackend implements BackendProvider {
        @Override
        public String name() {
            return "cli-test-backend";
        }

        @Override
        public String version() {
            return "1.2.3";
        }

        @Override
        public Backend open(BackendOptions options) {
            throw new IllegalStateException("cli-test-backend is only listed and selected, never opened");
        }
    }

    /** Sampler {@code cli-test-sampler}, version 0.0.1; the tests never create a scheduler from it. */
    public static final class TestSampler implements SamplerProvider {
        @Override
        public String name() {
            return "cli-test-sampler";
        }

        @Override
        public String version() {
            return "0.0.1";
        }

        @Override
        public NoiseScheduler create(String schedulerConfigJson) {
            throw new IllegalStateException("cli-test-sampler is only listed, never created");
        }
    }
}
