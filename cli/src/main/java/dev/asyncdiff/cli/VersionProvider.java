package dev.asyncdiff.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Properties;
import picocli.CommandLine.IVersionProvider;

/** Supplies {@code --version}: the project version (filled in at build time) and the running JVM. */
public final class VersionProvider implements IVersionProvider {
    private static final String RESOURCE = "version.properties";

    /**
     * The project version this CLI was built as.
     *
     * @throws IllegalStateException when the build did not fill in {@value #RESOURCE}
     */
    public static String projectVersion() {
        Properties properties = new Properties();
        try (InputStream in = VersionProvider.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("resource dev/asyncdiff/cli/" + RESOURCE + " is missing from the "
                        + "class path; build the CLI with Maven");
            }
            properties.load(in);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read dev/asyncdiff/cli/" + RESOURCE, e);
        }
        String version = properties.getProperty("version", "");
        if (version.isBlank() || version.contains("${")) {
            throw new IllegalStateException("dev/asyncdiff/cli/" + RESOURCE + " holds no project version ('"
                    + version + "'); build the CLI with Maven, which fills it in");
        }
        return version;
    }

    @Override
    public String[] getVersion() {
        return new String[] {
            "asyncdiff " + projectVersion(),
            "Java " + System.getProperty("java.version") + " (" + System.getProperty("java.vm.name") + ", "
                    + System.getProperty("java.vendor") + "), " + System.getProperty("os.name") + " "
                    + System.getProperty("os.arch"),
        };
    }
}
