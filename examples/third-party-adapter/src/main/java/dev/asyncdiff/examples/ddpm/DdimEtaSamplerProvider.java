package dev.asyncdiff.examples.ddpm;

import dev.asyncdiff.api.NoiseScheduler;
import dev.asyncdiff.spi.SamplerProvider;

/**
 * The {@code ddim_eta} sampler: DDIM with the stochasticity η of the scheduler config's {@code eta} key
 * (default 1.0), see {@link DdimEtaSampler}. It is the default for no diffusers class, so a model gets
 * it only when asked for by name ({@code --scheduler ddim_eta}). Stateless and thread-safe.
 */
public final class DdimEtaSamplerProvider implements SamplerProvider {
    /** The name users select this sampler by. */
    public static final String NAME = "ddim_eta";

    @Override
    public String name() {
        return NAME;
    }

    /**
     * A fresh {@link DdimEtaSampler} built from the config's keys.
     *
     * @throws IllegalArgumentException naming the key when a value is out of range or not supported
     */
    @Override
    public NoiseScheduler create(String schedulerConfigJson) {
        return DdimEtaSampler.fromConfig(schedulerConfigJson);
    }

    /** Null: {@code ddim_eta} is chosen only by name, never as a class's default. */
    @Override
    public String defaultForClass() {
        return null;
    }
}
