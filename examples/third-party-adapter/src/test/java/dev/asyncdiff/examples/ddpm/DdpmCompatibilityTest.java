package dev.asyncdiff.examples.ddpm;

import dev.asyncdiff.tck.AdapterVerification;
import java.nio.file.Path;

/**
 * The AsyncDiff compatibility kit against this plugin's {@code ddpm} adapter, on a tiny model: every check
 * of the kit becomes a test of this build. Unconditional models have no guidance (scale 1, so the kit's
 * guidance check is skipped), and the kit's stochastic-sampler runs use this plugin's own {@code ddim_eta}.
 */
class DdpmCompatibilityTest extends AdapterVerification {
    private static Path folder;

    @Override
    protected String adapterName() {
        return "ddpm";
    }

    @Override
    protected synchronized Path modelFolder() {
        if (folder == null) {
            folder = TinyDdpmModel.write(Path.of("target/ddpm-kit"), 2024);
        }
        return folder;
    }

    @Override
    protected int imageSize() {
        return TinyDdpmModel.SIZE;
    }

    @Override
    protected double guidance() {
        return 1.0;
    }

    @Override
    protected String stochasticSampler() {
        return "ddim_eta";
    }
}
