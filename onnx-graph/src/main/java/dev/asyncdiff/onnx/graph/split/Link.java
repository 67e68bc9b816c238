package dev.asyncdiff.onnx.graph.split;

import dev.asyncdiff.api.Device;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The link that carries the tensors crossing a cut between two components, by its bandwidth: the
 * planner charges each component the time to receive and send them. {@code inprocess} hands tensors
 * over by reference (no cost); the others are nominal one-direction bandwidths of common links.
 *
 * @param name           {@code inprocess}, {@code nvlink}, {@code pcie}, {@code ethernet}, or a figure such as {@code 12.5GB/s}
 * @param bytesPerSecond the bandwidth; {@link Double#POSITIVE_INFINITY} for {@code inprocess}
 */
public record Link(String name, double bytesPerSecond) {
    /** Tensors handed over by reference inside one process. */
    public static final Link INPROCESS = new Link("inprocess", Double.POSITIVE_INFINITY);
    /** NVLink 4 between two GPUs of one host, per direction. */
    public static final Link NVLINK = new Link("nvlink", 300e9);
    /** PCIe 4.0 x16 peer copies, per direction. */
    public static final Link PCIE = new Link("pcie", 25e9);
    /** 10 Gb/s Ethernet between hosts. */
    public static final Link ETHERNET = new Link("ethernet", 1.25e9);
    private static final Map<String, Link> NAMED = Map.of(INPROCESS.name, INPROCESS, NVLINK.name, NVLINK,
            PCIE.name, PCIE, ETHERNET.name, ETHERNET);

    public Link {
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException("a link needs a name");
        }
        if (!(bytesPerSecond > 0)) {
            throw new IllegalArgumentException("link bandwidth must be positive, was " + bytesPerSecond + " B/s");
        }
    }

    /**
     * Parses a link name ({@code inprocess}, {@code nvlink}, {@code pcie}, {@code ethernet}, any case) or a
     * bandwidth in GB/s ({@code 12.5} or {@code 12.5GB/s}).
     *
     * @throws IllegalArgumentException naming the accepted forms
     */
    public static Link parse(String text) {
        String value = text == null ? "" : text.trim().toLowerCase(Locale.ROOT);
        Link named = NAMED.get(value);
        if (named != null) {
            return named;
        }
        String number = value.endsWith("gb/s") ? value.substring(0, value.length() - 4).trim() : value;
        try {
            double gigabytes = Double.parseDouble(number);
            if (gigabytes > 0 && Double.isFinite(gigabytes)) {
                return new Link(String.format(Locale.ROOT, "%sGB/s", stripZeros(gigabytes)), gigabytes * 1e9);
            }
        } catch (NumberFormatException e) {
            // not a number: fall through to the error naming the accepted forms
        }
        throw new IllegalArgumentException("unknown link '" + text + "'; expected inprocess, nvlink, pcie, ethernet "
                + "or a positive bandwidth in GB/s such as 12.5");
    }

    /**
     * The link components on {@code devices} use by default: {@code inprocess} when they are all CPU
     * workers of this process, else {@code pcie} (GPU peer copies without assuming NVLink).
     */
    public static Link defaultFor(List<Device> devices) {
        return devices.stream().allMatch(Device::isCpu) ? INPROCESS : PCIE;
    }

    /** The seconds it takes to move {@code bytes} over this link. */
    public double seconds(double bytes) {
        return Double.isInfinite(bytesPerSecond) ? 0 : bytes / bytesPerSecond;
    }

    private static String stripZeros(double value) {
        return value == Math.rint(value) ? Long.toString((long) value) : Double.toString(value);
    }

    @Override
    public String toString() {
        return Double.isInfinite(bytesPerSecond) ? name : String.format(Locale.ROOT, "%s (%.3g GB/s)", name,
                bytesPerSecond / 1e9);
    }
}
