package dev.asyncdiff.adapters.video;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.jcodec.api.FrameGrab;
import org.jcodec.api.JCodecException;
import org.jcodec.api.awt.AWTSequenceEncoder;
import org.jcodec.common.io.FileChannelWrapper;
import org.jcodec.common.io.NIOUtils;
import org.jcodec.common.model.Picture;
import org.jcodec.common.model.Rational;
import org.jcodec.scale.AWTUtil;

/** H.264 MP4 files through JCodec's sequence encoder and frame grabber. */
final class Mp4Clips {
    /** Frame rates are kept to 1/1000 fps; JCodec takes them as a rational (timescale / frame duration). */
    private static final int FPS_DENOMINATOR = 1000;

    private Mp4Clips() {
    }

    /** {@code fps} as a reduced rational with denominator dividing 1000. */
    static Rational frameRate(double fps) {
        long num = Math.round(fps * FPS_DENOMINATOR);
        if (num < 1 || num > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("fps " + fps + " is outside what an MP4 clip can store (0.001 to "
                    + Integer.MAX_VALUE / FPS_DENOMINATOR + ")");
        }
        int gcd = BigInteger.valueOf(num).gcd(BigInteger.valueOf(FPS_DENOMINATOR)).intValue();
        return Rational.R((int) num / gcd, FPS_DENOMINATOR / gcd);
    }

    static void write(List<BufferedImage> frames, double fps, Path file) throws IOException {
        try (FileChannelWrapper channel = NIOUtils.writableChannel(file.toFile())) {
            AWTSequenceEncoder encoder = new AWTSequenceEncoder(channel, frameRate(fps));
            for (BufferedImage frame : frames) {
                encoder.encodeImage(frame);
            }
            encoder.finish();
        }
    }

    static List<BufferedImage> read(Path file) throws IOException {
        try (FileChannelWrapper channel = NIOUtils.readableChannel(file.toFile())) {
            FrameGrab grab = FrameGrab.createFrameGrab(channel);
            List<BufferedImage> frames = new ArrayList<>();
            for (Picture picture = grab.getNativeFrame(); picture != null; picture = grab.getNativeFrame()) {
                frames.add(AWTUtil.toBufferedImage(picture));
            }
            return frames;
        } catch (JCodecException e) {
            throw new IOException("not a readable MP4 clip: " + e.getMessage(), e);
        }
    }
}
