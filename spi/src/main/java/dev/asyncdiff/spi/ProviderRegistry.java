package dev.asyncdiff.spi;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import java.util.TreeMap;

/**
 * The providers of one kind found on the class path with {@link ServiceLoader}, looked up by name.
 * Where two share a name, the one with the higher {@link Provider#priority()} is kept. Immutable and
 * thread-safe.
 *
 * @param <P> the provider interface
 */
public final class ProviderRegistry<P extends Provider> {
    private final String kind;
    private final Map<String, P> byName;

    private ProviderRegistry(String kind, Map<String, P> byName) {
        this.kind = kind;
        this.byName = Collections.unmodifiableMap(byName);
    }

    /**
     * Finds every provider of {@code type} visible to {@code loader}.
     *
     * @param kind a word for messages, e.g. {@code backend}
     * @throws IllegalStateException naming the provider when one cannot be instantiated
     */
    public static <P extends Provider> ProviderRegistry<P> load(String kind, Class<P> type, ClassLoader loader) {
        List<P> found = new ArrayList<>();
        try {
            ServiceLoader.load(type, loader).forEach(found::add);
        } catch (ServiceConfigurationError e) {
            throw new IllegalStateException("cannot load a " + kind + " provider: " + e.getMessage(), e);
        }
        return of(kind, found);
    }

    /** Finds every provider of {@code type} visible to this class's loader. */
    public static <P extends Provider> ProviderRegistry<P> load(String kind, Class<P> type) {
        return load(kind, type, ProviderRegistry.class.getClassLoader());
    }

    /** A registry of the given providers, e.g. for tests. */
    public static <P extends Provider> ProviderRegistry<P> of(String kind, Iterable<? extends P> providers) {
        Map<String, P> byName = new TreeMap<>();
        for (P provider : providers) {
            byName.merge(provider.name(), provider,
                    (kept, other) -> other.priority() > kept.priority() ? other : kept);
        }
        return new ProviderRegistry<>(kind, byName);
    }

    /**
     * The provider called {@code name}.
     *
     * @throws IllegalArgumentException listing the names known when there is none of that name
     */
    public P get(String name) {
        P provider = byName.get(name);
        if (provider == null) {
            throw new IllegalArgumentException("unknown " + kind + " '" + name + "'; known " + kind + "s: "
                    + (byName.isEmpty() ? "none (no " + kind + " provider on the class path)"
                            : String.join(", ", byName.keySet())));
        }
        return provider;
    }

    /** The names known, sorted. */
    public List<String> names() {
        return List.copyOf(byName.keySet());
    }

    /** The providers, sorted by name. */
    public List<P> all() {
        return List.copyOf(byName.values());
    }

    /** The kind word given at creation, e.g. {@code backend}. */
    public String kind() {
        return kind;
    }
}
