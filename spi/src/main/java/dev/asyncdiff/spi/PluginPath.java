package dev.asyncdiff.spi;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.MalformedURLException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Folders of plugin jars: every {@code *.jar} in them joins a class loader whose providers
 * {@link ProviderCatalog#load(ClassLoader)} finds next to the built-in ones. A plugin jar holds its
 * classes and {@code META-INF/services} files; it compiles against {@code asyncdiff-api} and
 * {@code asyncdiff-spi}, which the parent class loader provides.
 */
public final class PluginPath {
    /** The environment variable with plugin folders, separated as the platform's path ({@code :} on Unix). */
    public static final String ENV_PLUGINS = "ASYNCDIFF_PLUGINS";

    private PluginPath() {
    }

    /** The folders in {@code value} (an {@link #ENV_PLUGINS} value), empty for null or blank. */
    public static List<Path> parse(String value) {
        List<Path> folders = new ArrayList<>();
        if (value != null) {
            for (String part : value.split(File.pathSeparator)) {
                if (!part.isBlank()) {
                    folders.add(Path.of(part.trim()));
                }
            }
        }
        return folders;
    }

    /**
     * The jars in {@code folders}, sorted by name within each folder.
     *
     * @throws ConfigException naming the folder (and {@code source}, e.g. {@code flag --plugins}) when it is
     *                         not a readable folder
     */
    public static List<Path> jars(List<Path> folders, String source) {
        List<Path> jars = new ArrayList<>();
        for (Path folder : folders) {
            if (!Files.isDirectory(folder)) {
                throw new ConfigException("plugin folder " + folder.toAbsolutePath() + (Files.exists(folder)
                        ? " is not a folder" : " does not exist") + "; expected a folder of plugin jars (from "
                        + source + ")");
            }
            try (Stream<Path> entries = Files.list(folder)) {
                entries.filter(path -> path.getFileName().toString().endsWith(".jar") && Files.isRegularFile(path))
                        .sorted().forEach(jars::add);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot list plugin folder " + folder + " (from " + source + "): " + e, e);
            }
        }
        return jars;
    }

    /**
     * A class loader over {@code jars} whose parent is {@code parent}, or {@code parent} itself when there
     * are none. It stays open for the life of the process, as providers it loads may be used until then.
     */
    public static ClassLoader classLoader(List<Path> jars, ClassLoader parent) {
        if (jars.isEmpty()) {
            return parent;
        }
        URL[] urls = new URL[jars.size()];
        for (int i = 0; i < urls.length; i++) {
            try {
                urls[i] = jars.get(i).toUri().toURL();
            } catch (MalformedURLException e) {
                throw new IllegalArgumentException("cannot use plugin jar " + jars.get(i) + ": " + e.getMessage(), e);
            }
        }
        return new URLClassLoader("asyncdiff-plugins", urls, parent);
    }
}
