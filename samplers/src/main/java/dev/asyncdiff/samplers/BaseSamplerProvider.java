package dev.asyncdiff.samplers;

import dev.asyncdiff.api.NoiseScheduler;
import dev.asyncdiff.spi.SamplerProvider;
import java.util.Map;
import java.util.function.Function;

/**
 * A {@link SamplerProvider} for one sampler class: a short name, the diffusers {@code _class_name}
 * it implements, and config keys it forces (a variant such as {@code dpmpp_2m_karras} is the
 * DPM-Solver++ class with {@code use_karras_sigmas: true}). Cheap to create; stateless and
 * thread-safe. Each sampler file declares its providers as public nested subclasses.
 */
public abstract class BaseSamplerProvider implements SamplerProvider {
    private final String name;
    private final String className;
    private final String description;
    private final Map<String, Object> forced;
    private final Map<String, Object> defaults;
    private final Function<SchedulerConfig, NoiseScheduler> factory;

    /**
     * Declares a provider.
     *
     * @param forced   keys set whatever the config says
     * @param defaults keys set only where the config has no value
     */
    protected BaseSamplerProvider(String name, String className, String description, Map<String, Object> forced,
                                  Map<String, Object> defaults, Function<SchedulerConfig, NoiseScheduler> factory) {
        this.name = name;
        this.className = className;
        this.description = description;
        this.forced = Map.copyOf(forced);
        this.defaults = Map.copyOf(defaults);
        this.factory = factory;
    }

    @Override
    public String name() {
        return name;
    }

    /** The diffusers scheduler class this provider implements, e.g. {@code EulerDiscreteScheduler}. */
    public String diffusersClassName() {
        return className;
    }

    /** The provider that forces no key stands for its diffusers class. */
    @Override
    public String defaultForClass() {
        return forced.isEmpty() ? className : null;
    }

    /** A one-line description for listings. */
    public String description() {
        return description;
    }

    /** The config keys this provider forces, for documentation. */
    public Map<String, Object> forcedKeys() {
        return forced;
    }

    @Override
    public NoiseScheduler create(String schedulerConfigJson) {
        return create(SchedulerConfig.parse(schedulerConfigJson));
    }

    /** A fresh sampler built from {@code config} with this provider's forced and default keys applied. */
    public NoiseScheduler create(SchedulerConfig config) {
        return factory.apply(config.withDefaults(defaults).with(forced));
    }

    @Override
    public String toString() {
        return name + " (" + className + ")";
    }
}
