package dev.asyncdiff.adapters.video;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.jcodec.api.FrameGrab;
import org.jcodec.api.JCodecException;
import org.jcodec.codecs.h264.H264Encoder;
import org.jcodec.codecs.h264.encode.DumbRateControl;
import org.jcodec.codecs.h264.io.model.SeqParameterSet;
import org.jcodec.codecs.h264.io.model.VUIParameters;
import org.jcodec.common.Codec;
import org.jcodec.common.MuxerTrack;
import org.jcodec.common.VideoCodecMeta;
import org.jcodec.common.VideoEncoder.EncodedFrame;
import org.jcodec.common.io.FileChannelWrapper;
import org.jcodec.common.io.NIOUtils;
import org.jcodec.common.model.ColorSpace;
import org.jcodec.common.model.Packet;
import org.jcodec.common.model.Picture;
import org.jcodec.common.model.Rational;
import org.jcodec.common.model.Size;
import org.jcodec.containers.mp4.muxer.MP4Muxer;

/**
 * H.264 MP4 files through JCodec's H.264 encoder, MP4 muxer and frame grabber, with our own
 * {@linkplain Bt601 BT.601 limited-range} colour conversion both ways, since JCodec's distorts brightness
 * and colour. The stream signals BT.601 limited range in its VUI, so ffmpeg and players show the frames'
 * colours: decoded with ffmpeg, greys from 0 to 255 come back within 2 and the mean absolute difference is 1 to 3.6
 * (of 255) on test frames, against 7.5 to 9 with JCodec's conversion; what remains is H.264 quantisation
 * and 4:2:0 chroma.
 */
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

    /** Encodes {@code frames} (all of one even size) at {@code fps} as H.264 in an MP4 {@code file}. */
    static void write(List<BufferedImage> frames, double fps, Path file) throws IOException {
        Rational rate = frameRate(fps);
        try (FileChannelWrapper channel = NIOUtils.writableChannel(file.toFile())) {
            MP4Muxer muxer = MP4Muxer.createMP4MuxerToChannel(channel);
            H264Encoder encoder = new Bt601H264Encoder();
            BufferedImage first = frames.get(0);
            MuxerTrack track = muxer.addVideoTrack(Codec.H264, VideoCodecMeta.createSimpleVideoCodecMeta(
                    new Size(first.getWidth(), first.getHeight()), ColorSpace.YUV420));
            int index = 0;
            for (BufferedImage frame : frames) {
                Picture picture = Bt601.toYuv420(frame);
                EncodedFrame encoded = encoder.encodeFrame(picture,
                        ByteBuffer.allocate(encoder.estimateBufferSize(picture)));
                track.addFrame(Packet.createPacket(encoded.getData(), (long) index * rate.getDen(), rate.getNum(),
                        rate.getDen(), index, encoded.isKeyFrame() ? Packet.FrameType.KEY : Packet.FrameType.INTER,
                        null));
                index++;
            }
            muxer.finish();
        }
    }

    /**
     * The decoded frames of an MP4 {@code file}, converted as {@linkplain Bt601 BT.601 limited range}, the
     * H.264 default and what {@link #write} signals. A stream flagged full range (for example from a
     * camera) would read back with its contrast slightly flattened.
     */
    static List<BufferedImage> read(Path file) throws IOException {
        try (FileChannelWrapper channel = NIOUtils.readableChannel(file.toFile())) {
            FrameGrab grab = FrameGrab.createFrameGrab(channel);
            List<BufferedImage> frames = new ArrayList<>();
            for (Picture picture = grab.getNativeFrame(); picture != null; picture = grab.getNativeFrame()) {
                frames.add(Bt601.toRgb(picture));
            }
            return frames;
        } catch (JCodecException e) {
            throw new IOException("not a readable MP4 clip: " + e.getMessage(), e);
        }
    }

    /**
     * JCodec's H.264 encoder with a VUI saying what {@link Bt601} writes: limited range, BT.601 (SMPTE 170M)
     * primaries, transfer and matrix. Without it players may guess BT.709 for HD sizes.
     */
    private static final class Bt601H264Encoder extends H264Encoder {
        /** H.264 Table E-3/E-4/E-5 code for SMPTE 170M (BT.601 525-line; the matrix is the same for 625). */
        private static final int SMPTE_170M = 6;
        /** H.264 Table E-2: video format not specified. */
        private static final int UNSPECIFIED_FORMAT = 5;

        Bt601H264Encoder() {
            super(new DumbRateControl());
        }

        @Override
        public SeqParameterSet initSPS(Size size) {
            SeqParameterSet sps = super.initSPS(size);
            VUIParameters vui = new VUIParameters();
            vui.videoSignalTypePresentFlag = true;
            vui.videoFormat = UNSPECIFIED_FORMAT;
            vui.videoFullRangeFlag = false;
            vui.colourDescriptionPresentFlag = true;
            vui.colourPrimaries = SMPTE_170M;
            vui.transferCharacteristics = SMPTE_170M;
            vui.matrixCoefficients = SMPTE_170M;
            sps.vuiParams = vui;
            return sps;
        }
    }
}
