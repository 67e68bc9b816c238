package dev.asyncdiff.samplers;

import dev.asyncdiff.api.NoiseScheduler;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Builds samplers from diffusers {@code scheduler_config.json} files: by the config's
 * {@code _class_name}, or by an override name (a provider name such as {@code euler_a} or
 * {@code dpmpp_2m_karras}, or another diffusers class name) that reuses the checkpoint's betas and
 * other keys with a different sampler, as diffusers' {@code SchedulerClass.from_config} does. Each
 * call returns a fresh sampler the caller owns; this class is stateless and thread-safe.
 */
public final class Samplers {
    private static final List<BaseSamplerProvider> PROVIDERS = List.of(
            new DdimSampler.Provider(),
            new PndmSampler.Provider(),
            new DdpmSampler.Provider(),
            new EulerSampler.Provider(),
            new EulerAncestralSampler.Provider(),
            new LmsSampler.Provider(),
            new HeunSampler.Provider(),
            new DpmSolverMultistepSampler.Provider(),
            new DpmSolverMultistepSampler.Dpmpp2mProvider(),
            new DpmSolverMultistepSampler.Dpmpp2mKarrasProvider(),
            new DpmSolverMultistepSampler.Dpmpp2mSdeProvider(),
            new UniPcSampler.Provider(),
            new LcmSampler.Provider(),
            new FlowMatchEulerSampler.Provider(),
            new EulerSampler.EdmProvider());
    private static final Map<String, BaseSamplerProvider> BY_NAME;
    private static final Map<String, BaseSamplerProvider> BY_CLASS;

    static {
        Map<String, BaseSamplerProvider> byName = new TreeMap<>();
        Map<String, BaseSamplerProvider> byClass = new TreeMap<>();
        for (BaseSamplerProvider provider : PROVIDERS) {
            byName.put(provider.name(), provider);
            // the first provider of a class, the one that forces nothing, stands for the class
            byClass.putIfAbsent(provider.diffusersClassName(), provider);
        }
        BY_NAME = Collections.unmodifiableMap(byName);
        BY_CLASS = Collections.unmodifiableMap(byClass);
    }

    private Samplers() {
    }

    /**
     * A fresh sampler for the config's {@code _class_name}.
     *
     * @throws IllegalArgumentException when the JSON is invalid, has no or an unknown
     *                                  {@code _class_name}, or a value is out of range (naming the key)
     */
    public static NoiseScheduler fromConfig(String json) {
        return fromConfig(SchedulerConfig.parse(json), null);
    }

    /**
     * A fresh sampler read from a {@code scheduler_config.json} file.
     *
     * @throws IllegalArgumentException naming the file when it is missing or malformed
     */
    public static NoiseScheduler fromConfig(Path file) {
        return fromConfig(SchedulerConfig.read(file), null);
    }

    /**
     * A fresh sampler named {@code override} (a provider name or a diffusers class name) built from
     * the checkpoint config's betas and other keys; {@code null} means the config's own
     * {@code _class_name}.
     *
     * @throws IllegalArgumentException listing the known names when {@code override} is unknown
     */
    public static NoiseScheduler fromConfig(String json, String override) {
        return fromConfig(SchedulerConfig.parse(json), override);
    }

    /** As {@link #fromConfig(String, String)}, reading the config from a file. */
    public static NoiseScheduler fromConfig(Path file, String override) {
        return fromConfig(SchedulerConfig.read(file), override);
    }

    /** As {@link #fromConfig(String, String)} for a parsed config. */
    public static NoiseScheduler fromConfig(SchedulerConfig config, String override) {
        if (override != null) {
            return provider(override).create(config);
        }
        String className = config.className();
        if (className == null) {
            throw new IllegalArgumentException(config.source() + " has no _class_name; expected one of "
                    + String.join(", ", BY_CLASS.keySet()) + ", or pass a sampler name");
        }
        BaseSamplerProvider provider = BY_CLASS.get(className);
        if (provider == null) {
            throw new IllegalArgumentException(config.source() + ": unsupported _class_name '" + className
                    + "'; supported: " + String.join(", ", BY_CLASS.keySet())
                    + " (or override with a sampler name: " + String.join(", ", BY_NAME.keySet()) + ")");
        }
        return provider.create(config);
    }

    /**
     * The provider called {@code name}, a provider name or a diffusers class name.
     *
     * @throws IllegalArgumentException listing the known names otherwise
     */
    public static BaseSamplerProvider provider(String name) {
        if (name == null) {
            throw new IllegalArgumentException("sampler name must not be null");
        }
        BaseSamplerProvider provider = BY_NAME.get(name);
        if (provider == null) {
            provider = BY_CLASS.get(name);
        }
        if (provider == null) {
            throw new IllegalArgumentException("unknown sampler '" + name + "'; known samplers: "
                    + String.join(", ", BY_NAME.keySet()) + "; or a diffusers class: "
                    + String.join(", ", BY_CLASS.keySet()));
        }
        return provider;
    }

    /** The provider names, sorted. */
    public static List<String> names() {
        return List.copyOf(BY_NAME.keySet());
    }

    /** The diffusers {@code _class_name}s understood, sorted. */
    public static List<String> classNames() {
        return List.copyOf(BY_CLASS.keySet());
    }

    /** Every provider, in documentation order. */
    public static List<BaseSamplerProvider> providers() {
        return PROVIDERS;
    }

    /** Provider name to diffusers class name, in documentation order. */
    public static Map<String, String> table() {
        Map<String, String> out = new LinkedHashMap<>();
        for (BaseSamplerProvider provider : PROVIDERS) {
            out.put(provider.name(), provider.diffusersClassName());
        }
        return Collections.unmodifiableMap(out);
    }
}
