package dev.asyncdiff.spi;

/**
 * A plugin found through {@link java.util.ServiceLoader}: a public no-arg constructor, cheap to
 * create, that loads no native code until its factory method is called.
 */
public interface Provider {
    /** The name users select this provider by, unique within its kind. */
    String name();

    /** The provider's version; by default its jar's implementation version, else {@code dev}. */
    default String version() {
        String version = getClass().getPackage().getImplementationVersion();
        return version == null ? "dev" : version;
    }

    /** When two providers of a kind share a name, the higher priority wins. */
    default int priority() {
        return 0;
    }
}
