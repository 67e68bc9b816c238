package dev.asyncdiff.engine;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.asyncdiff.api.NoiseScheduler;
import dev.asyncdiff.spi.ProviderRegistry;
import dev.asyncdiff.spi.SamplerProvider;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The samplers of the {@link SamplerProvider}s found on the class path (plugins included), looked up
 * the way diffusers does: a model's {@code scheduler_config.json} names a class ({@code _class_name}),
 * and a user may ask for another sampler by provider name ({@code euler_a}) or by class name, built
 * from the same checkpoint keys. Immutable and thread-safe.
 */
public final class SamplerCatalog {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final ProviderRegistry<SamplerProvider> providers;
    private final Map<String, SamplerProvider> byClass;

    /** A catalog over {@code providers}. */
    public SamplerCatalog(ProviderRegistry<SamplerProvider> providers) {
        this.providers = providers;
        Map<String, SamplerProvider> classes = new TreeMap<>();
        for (SamplerProvider provider : providers.all()) {
            String className = provider.defaultForClass();
            if (className != null) {
                classes.merge(className, provider, (kept, other) -> other.priority() > kept.priority() ? other : kept);
            }
        }
        this.byClass = Map.copyOf(classes);
    }

    /** Whether {@code name} is a provider name or a diffusers class some provider is the default for. */
    public boolean knows(String name) {
        return name != null && (providers.names().contains(name) || byClass.containsKey(name));
    }

    /** The provider names, sorted. */
    public List<String> names() {
        return providers.names();
    }

    /** The diffusers class names understood, sorted. */
    public List<String> classNames() {
        return List.copyOf(new TreeMap<>(byClass).keySet());
    }

    /**
     * The provider called {@code name}: a provider name, else a diffusers class name.
     *
     * @throws IllegalArgumentException listing the known names otherwise
     */
    public SamplerProvider provider(String name) {
        if (providers.names().contains(name)) {
            return providers.get(name);
        }
        SamplerProvider provider = byClass.get(name);
        if (provider == null) {
            throw new IllegalArgumentException("unknown sampler '" + name + "'; known samplers: "
                    + String.join(", ", names()) + "; or a diffusers class: " + String.join(", ", classNames()));
        }
        return provider;
    }

    /**
     * A fresh sampler from the {@code scheduler_config.json} at {@code config}: {@code name}'s, or for
     * null the config's {@code _class_name}'s.
     *
     * @throws IllegalArgumentException naming the file when it is missing or malformed, or listing
     *                                  the known samplers when none matches
     */
    public NoiseScheduler create(Path config, String name) {
        if (providers.names().isEmpty()) {
            throw new IllegalArgumentException("no sampler provider on the class path to read " + config
                    + "; add asyncdiff-samplers (or a sampler plugin)");
        }
        String json;
        try {
            json = Files.readString(config, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException("scheduler config " + config + " does not exist");
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read scheduler config " + config + ": " + e, e);
        }
        if (name != null) {
            return provider(name).create(json);
        }
        String className = className(json, config);
        SamplerProvider provider = byClass.get(className);
        if (provider == null) {
            throw new IllegalArgumentException(config + ": unsupported _class_name '" + className + "'; supported: "
                    + String.join(", ", classNames()) + " (or choose a sampler by name: " + String.join(", ", names())
                    + ")");
        }
        return provider.create(json);
    }

    private String className(String json, Path config) {
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (IOException e) {
            throw new IllegalArgumentException(config + " is not valid JSON: " + e.getMessage(), e);
        }
        JsonNode className = root == null ? null : root.get("_class_name");
        if (className == null || !className.isTextual()) {
            throw new IllegalArgumentException(config + " has no _class_name; expected one of "
                    + String.join(", ", classNames()) + ", or choose a sampler by name");
        }
        return className.asText();
    }
}
